import { type ResultRow, type RowStatus, labelColumns } from './columns.js';
import type { BenchmarkResult, KernelResult, SampleStats } from '../native/types.js';
import type { TensorRef } from '../weights/types.js';
import { failureReason, kernelFailureCode } from './failure-reason.js';

/** Largest relative Frobenius error a kernel may show vs the float64 reference and still pass. */
export const VERIFY_TOLERANCE: Record<string, number> = {
  'cublas-bf16': 2e-2,
  'cublas-tf32': 5e-3,
};
export const DEFAULT_VERIFY_TOLERANCE = 1e-4;

/** The configuration every row of one run shares. */
export interface RowConfig {
  orientation: string;
  backend: 'cpu' | 'cuda';
  device: string;
  runs: number;
  warmup: number;
  l2: string;
  seed: number;
  run: number;
}

/** What a row knows about its tensor before anything is benchmarked. */
export interface TensorFacts {
  file: string;
  name: string;
  labels: Record<string, string>;
  shape?: number[];
  dtype?: string;
  k?: number;
  n?: number;
  elementSparsity?: number;
  blockSparsity?: number;
}

export function factsOf(ref: TensorRef): TensorFacts {
  return { file: ref.file, name: ref.name, labels: ref.labels, shape: ref.shape, dtype: ref.dtype };
}

/** A row with identity and configuration filled in and every measurement empty. */
export function emptyRow(
  t: TensorFacts,
  cfg: RowConfig,
  point: { m: number | null; kernel: string | null; aSource: string | null },
  status: RowStatus,
  reason: string | null,
): ResultRow {
  return {
    source_file: t.file,
    tensor: t.name,
    ...labelColumns(t.labels),
    shape_rows: t.shape?.[0] ?? null,
    shape_cols: t.shape?.[1] ?? null,
    source_dtype: t.dtype ?? null,
    orientation: cfg.orientation,
    m: point.m,
    k: t.k ?? null,
    n: t.n ?? null,
    a_source: point.aSource,
    element_sparsity: t.elementSparsity ?? null,
    block_sparsity: t.blockSparsity ?? null,
    skipped_slice_fraction: null,
    backend: cfg.backend,
    device: cfg.device,
    kernel: point.kernel,
    variant: null,
    runs: cfg.runs,
    warmup: cfg.warmup,
    l2: cfg.l2,
    seed: cfg.seed,
    compute_ms_median: null,
    compute_ms_min: null,
    compute_ms_max: null,
    stdev_rel: null,
    a_pattern_ms: null,
    total_ms: null,
    tflops: null,
    speedup_compute: null,
    speedup_total: null,
    rel_err_frobenius: null,
    max_abs_err_rel: null,
    status,
    reason,
    run: cfg.run,
  };
}

/** Relative standard deviation of the samples (sample stdev / mean). */
export function stdevRel(samples: number[]): number | null {
  if (samples.length < 2) return samples.length === 1 ? 0 : null;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  if (mean === 0) return null;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples.length - 1);
  return Math.sqrt(variance) / mean;
}

/** Time of the kernel plus the per-call A patterns it needs (ESMM only). */
function totalMs(kernel: KernelResult, result: BenchmarkResult): number | null {
  if (!kernel.time) return null;
  return kernel.id === 'esmm' ? kernel.time.median + result.aPatterns.median : kernel.time.median;
}

/** Why a kernel's output fails verification, or null when it passes. */
export function verificationFailure(kernel: KernelResult): string | null {
  if (!kernel.ok) return kernel.error ?? 'kernel failed';
  const tol = VERIFY_TOLERANCE[kernel.id] ?? DEFAULT_VERIFY_TOLERANCE;
  const err = kernel.relErrFrobenius;
  if (err === undefined || !Number.isFinite(err)) return 'verification: no finite error against the float64 reference';
  if (err > tol) return `verification: relative error ${err.toExponential(2)} > ${tol.toExponential(0)}`;
  if (!kernel.time) return 'no timing';
  return null;
}

/** Rows of one benchmark call, one per wanted kernel, with speedups against the baseline. */
export function rowsFromResult(
  t: TensorFacts,
  cfg: RowConfig,
  m: number,
  aSource: string,
  result: BenchmarkResult,
  wanted: string[],
  baselineId: string,
): ResultRow[] {
  const byId = new Map(result.kernels.map((k) => [k.id, k]));
  const base = byId.get(baselineId);
  const baseOk = base !== undefined && verificationFailure(base) === null;
  const rows: ResultRow[] = [];
  const c = { ...cfg, device: result.device || cfg.device };
  const where = `${t.file}${t.name ? '#' + t.name : ''}`;
  for (const id of wanted) {
    const kernel = byId.get(id);
    if (!kernel) {
      rows.push(emptyRow(t, c, { m, kernel: id, aSource }, 'failed', failureReason('INTERNAL', where, 'the backend returned no result for this kernel')));
      continue;
    }
    const failure = verificationFailure(kernel);
    const reason = failure === null ? null : failureReason(kernelFailureCode(kernel), where, failure);
    const row = emptyRow(t, c, { m, kernel: id, aSource }, failure ? 'failed' : 'ok', reason);
    row.variant = kernel.variant ?? null;
    row.skipped_slice_fraction = result.skippedSliceFraction;
    row.rel_err_frobenius = kernel.relErrFrobenius ?? null;
    row.max_abs_err_rel = kernel.maxAbsErrRel ?? null;
    if (!failure && kernel.time) {
      const time: SampleStats = kernel.time;
      row.compute_ms_median = time.median;
      row.compute_ms_min = time.min;
      row.compute_ms_max = time.max;
      row.stdev_rel = stdevRel(time.samples);
      row.a_pattern_ms = id === 'esmm' ? result.aPatterns.median : null;
      row.total_ms = totalMs(kernel, result);
      row.tflops = time.median > 0 ? (2 * m * (t.n ?? 0) * (t.k ?? 0)) / (time.median * 1e9) : null;
      if (baseOk && base?.time) {
        row.speedup_compute = base.time.median / time.median;
        const total = row.total_ms;
        row.speedup_total = total !== null && total > 0 ? base.time.median / total : null;
      }
    }
    rows.push(row);
  }
  return rows;
}
