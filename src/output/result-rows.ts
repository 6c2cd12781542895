import type { KernelRoles } from '../bench/kernel-roles.js';
import type { BenchmarkResult, KernelResult, KernelTolerance } from '../native/types.js';
import type { BMemoryBytes } from '../patterns/b-memory-bytes.js';
import type { TensorRef } from '../weights/types.js';
import { type ResultRow, type RowStatus, labelColumns } from './columns.js';
import { failureReason, kernelFailureCode } from './failure-reason.js';
import { relativeStdev } from './noise-verdict.js';
import { paybackCalls } from './payback-calls.js';

/** The bar a kernel the registry does not list is held to: float32-accurate. */
const STRICT: KernelTolerance = { relFrobenius: 1e-5, maxAbsRel: 1e-5 };

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
  /** Storage of B in dense, ESMM and 32×32 BSR form (from its patterns). */
  bMemory?: BMemoryBytes;
  /** The one-off B-pattern computation, milliseconds; null when unknown. */
  bPatternMs?: number | null;
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
    k_density: null,
    noisy: null,
    samples: null,
    calls_per_sample: null,
    speedup_tf32x3_compute: null,
    speedup_tf32x3_total: null,
    speedup_best_dense_compute: null,
    speedup_best_dense_total: null,
    best_dense_kernel: null,
    b_dense_bytes: t.bMemory?.dense ?? null,
    b_esmm_bytes: t.bMemory?.esmm ?? null,
    b_bsr32_bytes: t.bMemory?.bsr32 ?? null,
    b_pattern_ms: t.bPatternMs ?? null,
    payback_calls: null,
    b_prepare_ms: null,
  };
}

/** Relative standard deviation of the samples (sample stdev / mean); null without samples or with a zero mean. */
export function stdevRel(samples: number[]): number | null {
  if (samples.length === 0 || samples.every((x) => x === 0)) return null;
  return relativeStdev(samples);
}

/** Time of the kernel plus the per-call A patterns it needs (ESMM only). */
function totalMs(kernel: KernelResult, result: BenchmarkResult): number | null {
  if (!kernel.time) return null;
  return kernel.id === 'esmm' ? kernel.time.median + result.aPatterns.median : kernel.time.median;
}

const sci = (x: number): string => x.toExponential(2);

/**
 * Why a kernel's output fails verification, or null when it passes: both its relative
 * Frobenius error and its largest elementwise error (over max |C64|) must be at or under the
 * kernel's bar in the registry.
 */
export function verificationFailure(kernel: KernelResult, tolerance: KernelTolerance = STRICT): string | null {
  if (!kernel.ok) return kernel.error ?? 'kernel failed';
  const fro = kernel.relErrFrobenius;
  const max = kernel.maxAbsErrRel;
  if (fro === undefined || !Number.isFinite(fro) || max === undefined || !Number.isFinite(max)) {
    return 'verification: no finite error against the float64 reference';
  }
  if (fro > tolerance.relFrobenius) return `verification: relative Frobenius error ${sci(fro)} > ${sci(tolerance.relFrobenius)}`;
  if (max > tolerance.maxAbsRel) return `verification: max |C − C64| / max |C64| ${sci(max)} > ${sci(tolerance.maxAbsRel)}`;
  if (!kernel.time) return 'no timing';
  return null;
}

/** The measurement columns of a row; a row builder fills the rest. */
export type MeasurementFields = Pick<
  ResultRow,
  | 'variant'
  | 'skipped_slice_fraction'
  | 'k_density'
  | 'rel_err_frobenius'
  | 'max_abs_err_rel'
  | 'compute_ms_median'
  | 'compute_ms_min'
  | 'compute_ms_max'
  | 'stdev_rel'
  | 'noisy'
  | 'samples'
  | 'calls_per_sample'
  | 'a_pattern_ms'
  | 'b_prepare_ms'
  | 'total_ms'
  | 'tflops'
  | 'speedup_compute'
  | 'speedup_total'
  | 'speedup_tf32x3_compute'
  | 'speedup_tf32x3_total'
  | 'speedup_best_dense_compute'
  | 'speedup_best_dense_total'
  | 'best_dense_kernel'
>;

/** Median time of each float32-accurate dense baseline that ran and passed verification in this call. */
export function baselineTimes(result: BenchmarkResult, roles: KernelRoles): Map<string, number> {
  const times = new Map<string, number>();
  for (const id of roles.baselines) {
    const k = result.kernels.find((kr) => kr.id === id);
    if (k?.time && verificationFailure(k, roles.tolerance.get(id)) === null) times.set(id, k.time.median);
  }
  return times;
}

/**
 * One kernel of one native call as row columns: its timing and noise record, its errors, and
 * its speedups against SGEMM, against dense-tf32x3 and against the faster of the two (the
 * headline), all from the same call. `failure` is null when the kernel passed; else `code` says
 * what kind of failure it is (the addon's error code, or WRONG_RESULT).
 */
export function measureKernel(
  id: string,
  result: BenchmarkResult,
  roles: KernelRoles,
  shape: { m: number; k: number; n: number },
): { failure: string | null; code: string | null; fields: Partial<MeasurementFields>; bestDenseMs: number | null } {
  const byId = new Map(result.kernels.map((k) => [k.id, k]));
  const kernel = byId.get(id);
  if (!kernel) return { failure: 'the backend returned no result for this kernel', code: 'INTERNAL', fields: {}, bestDenseMs: null };
  const failure = verificationFailure(kernel, roles.tolerance.get(id));
  const code = failure === null ? null : kernelFailureCode(kernel);
  const fields: Partial<MeasurementFields> = {
    variant: kernel.variant ?? null,
    skipped_slice_fraction: result.skippedSliceFraction,
    k_density: result.kDensity ?? null,
    rel_err_frobenius: kernel.relErrFrobenius ?? null,
    max_abs_err_rel: kernel.maxAbsErrRel ?? null,
  };
  if (failure || !kernel.time) return { failure, code, fields, bestDenseMs: null };
  const time = kernel.time;
  const total = totalMs(kernel, result);
  fields.compute_ms_median = time.median;
  fields.compute_ms_min = time.min;
  fields.compute_ms_max = time.max;
  fields.stdev_rel = kernel.stdevRel ?? stdevRel(time.samples);
  fields.noisy = kernel.noisy === undefined ? null : kernel.noisy ? 'true' : 'false';
  fields.samples = time.samples.length;
  fields.calls_per_sample = kernel.callsPerSample ?? null;
  fields.a_pattern_ms = id === 'esmm' ? result.aPatterns.median : null;
  fields.b_prepare_ms = (id === 'esmm' || id === 'dense-tf32x3') && result.bPrepare ? result.bPrepare.median : null;
  fields.total_ms = total;
  fields.tflops = time.median > 0 ? (2 * shape.m * shape.n * shape.k) / (time.median * 1e9) : null;
  const base = baselineTimes(result, roles);
  const against = (baseMs: number | undefined): [number | null, number | null] =>
    baseMs === undefined ? [null, null] : [baseMs / time.median, total !== null && total > 0 ? baseMs / total : null];
  [fields.speedup_compute, fields.speedup_total] = against(roles.sgemm ? base.get(roles.sgemm) : undefined);
  [fields.speedup_tf32x3_compute, fields.speedup_tf32x3_total] = against(roles.tf32x3 ? base.get(roles.tf32x3) : undefined);
  let best: [string, number] | null = null;
  for (const [bid, ms] of base) if (best === null || ms < best[1]) best = [bid, ms];
  [fields.speedup_best_dense_compute, fields.speedup_best_dense_total] = against(best?.[1]);
  fields.best_dense_kernel = best?.[0] ?? null;
  return { failure, code, fields, bestDenseMs: best?.[1] ?? null };
}

/** Rows of one benchmark call, one per wanted kernel, with speedups against every dense baseline. */
export function rowsFromResult(
  t: TensorFacts,
  cfg: RowConfig,
  m: number,
  aSource: string,
  result: BenchmarkResult,
  wanted: string[],
  roles: KernelRoles,
): ResultRow[] {
  const c = { ...cfg, device: result.device || cfg.device };
  const where = `${t.file}${t.name ? '#' + t.name : ''}`;
  return wanted.map((id) => {
    const { failure, code, fields, bestDenseMs } = measureKernel(id, result, roles, { m, k: t.k ?? 0, n: t.n ?? 0 });
    const reason = failure === null ? null : failureReason(code ?? 'INTERNAL', where, failure);
    const row = Object.assign(emptyRow(t, c, { m, kernel: id, aSource }, failure ? 'failed' : 'ok', reason), fields);
    if (id === 'esmm' && !failure) {
      row.payback_calls = paybackCalls({ bPatternMs: t.bPatternMs ?? null, esmmTotalMs: row.total_ms, baselineMs: bestDenseMs === null ? [] : [bestDenseMs] });
    }
    return row;
  });
}
