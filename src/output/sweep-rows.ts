import type { KernelRoles } from '../bench/kernel-roles.js';
import type { BenchmarkResult } from '../native/types.js';
import { SWEEP_COLUMNS, type SweepRow } from './columns.js';
import { failureReason } from './failure-reason.js';
import { type RowConfig, measureKernel } from './result-rows.js';

/** What every row of one synthetic point shares: the run's configuration (a sweep has no orientation) and the point. */
export interface SweepPoint extends Omit<RowConfig, 'orientation'> {
  m: number;
  k: number;
  n: number;
  mode: string;
  density: number;
}

/** A sweep row with identity filled in and every measurement empty. */
export function blankSweepRow(point: SweepPoint, kernel: string, status: string, reason: string | null): SweepRow {
  const row = Object.fromEntries(SWEEP_COLUMNS.map((c) => [c, null])) as SweepRow;
  Object.assign(row, point, { kernel, status, reason });
  return row;
}

/** Where a synthetic point is, in a failure reason: `synthetic MxKxN mode density d`. */
export function sweepPointLabel(point: Pick<SweepPoint, 'm' | 'k' | 'n' | 'mode' | 'density'>): string {
  return `synthetic ${point.m}x${point.k}x${point.n} ${point.mode} density ${point.density}`;
}

/** Rows of one synthetic benchmark call, one per wanted kernel, with speedups against every dense baseline. */
export function sweepRowsFromResult(point: SweepPoint, result: BenchmarkResult, wanted: string[], roles: KernelRoles): SweepRow[] {
  return wanted.map((id) => {
    const { failure, code, fields } = measureKernel(id, result, roles, point);
    const row = blankSweepRow(point, id, failure ? 'failed' : 'ok', failure && failureReason(code ?? 'INTERNAL', sweepPointLabel(point), failure));
    Object.assign(row, fields);
    row.device = result.device || point.device;
    return row;
  });
}
