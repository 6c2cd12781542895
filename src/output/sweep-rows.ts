import type { BenchmarkResult } from '../native/types.js';
import { SWEEP_COLUMNS, type SweepRow } from './columns.js';
import { stdevRel, verificationFailure } from './result-rows.js';

/** What every row of one synthetic point shares. */
export interface SweepPoint {
  m: number;
  k: number;
  n: number;
  mode: string;
  density: number;
  backend: 'cpu' | 'cuda';
  device: string;
  runs: number;
  warmup: number;
  l2: string;
  seed: number;
  run: number;
}

/** A sweep row with identity filled in and every measurement empty. */
export function blankSweepRow(point: SweepPoint, kernel: string, status: string, reason: string | null): SweepRow {
  const row = Object.fromEntries(SWEEP_COLUMNS.map((c) => [c, null])) as SweepRow;
  Object.assign(row, point, { kernel, status, reason });
  return row;
}

/** Rows of one synthetic benchmark call, one per wanted kernel, with speedups against the baseline. */
export function sweepRowsFromResult(point: SweepPoint, result: BenchmarkResult, wanted: string[], baselineId: string): SweepRow[] {
  const byId = new Map(result.kernels.map((k) => [k.id, k]));
  const b = byId.get(baselineId);
  const baseMs = b && verificationFailure(b) === null ? b.time!.median : null;
  return wanted.map((id) => {
    const kr = byId.get(id);
    const failure = kr ? verificationFailure(kr) : 'the backend returned no result for this kernel';
    const row = blankSweepRow(point, id, failure ? 'failed' : 'ok', failure);
    row.device = result.device || point.device;
    row.skipped_slice_fraction = result.skippedSliceFraction;
    if (kr) {
      row.variant = kr.variant ?? null;
      row.rel_err_frobenius = kr.relErrFrobenius ?? null;
      row.max_abs_err_rel = kr.maxAbsErrRel ?? null;
    }
    if (!failure && kr?.time) {
      const total = id === 'esmm' ? kr.time.median + result.aPatterns.median : kr.time.median;
      row.compute_ms_median = kr.time.median;
      row.compute_ms_min = kr.time.min;
      row.compute_ms_max = kr.time.max;
      row.stdev_rel = stdevRel(kr.time.samples);
      row.a_pattern_ms = id === 'esmm' ? result.aPatterns.median : null;
      row.total_ms = total;
      row.tflops = (2 * point.m * point.n * point.k) / (kr.time.median * 1e9);
      row.speedup_compute = baseMs !== null ? baseMs / kr.time.median : null;
      row.speedup_total = baseMs !== null ? baseMs / total : null;
    }
    return row;
  });
}
