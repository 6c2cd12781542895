/**
 * The CSV schema (DESIGN.md "CSV"): one row per (tensor, M, kernel), columns in this fixed
 * order, units in the names, raw numbers. The README documents this list; append new
 * columns at the end only, so files written by earlier versions stay resumable.
 */
export const CSV_COLUMNS = [
  'source_file',
  'tensor',
  'label_pruner',
  'label_group',
  'label_perm',
  'label_sparsity',
  'label_layer',
  'labels_json',
  'shape_rows',
  'shape_cols',
  'source_dtype',
  'orientation',
  'm',
  'k',
  'n',
  'a_source',
  'element_sparsity',
  'block_sparsity',
  'skipped_slice_fraction',
  'backend',
  'device',
  'kernel',
  'variant',
  'runs',
  'warmup',
  'l2',
  'seed',
  'compute_ms_median',
  'compute_ms_min',
  'compute_ms_max',
  'stdev_rel',
  'a_pattern_ms',
  'total_ms',
  'tflops',
  'speedup_compute',
  'speedup_total',
  'rel_err_frobenius',
  'max_abs_err_rel',
  'status',
  'reason',
  'run',
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** The research labels that get their own column; every label is also in labels_json. */
export const LABEL_COLUMNS = ['pruner', 'group', 'perm', 'sparsity', 'layer'] as const;

export type RowStatus = 'ok' | 'failed' | 'skipped';

/** One result row. Empty cells are null (written as an empty field). */
export interface ResultRow {
  source_file: string;
  tensor: string;
  label_pruner: string | null;
  label_group: string | null;
  label_perm: string | null;
  label_sparsity: string | null;
  label_layer: string | null;
  labels_json: string;
  shape_rows: number | null;
  shape_cols: number | null;
  source_dtype: string | null;
  orientation: string | null;
  m: number | null;
  k: number | null;
  n: number | null;
  /** 'random' (seeded dense A) or `<file>#<tensor>` for an A+B pair. */
  a_source: string | null;
  element_sparsity: number | null;
  block_sparsity: number | null;
  skipped_slice_fraction: number | null;
  backend: string | null;
  device: string | null;
  kernel: string | null;
  variant: string | null;
  runs: number | null;
  warmup: number | null;
  l2: string | null;
  seed: number | null;
  compute_ms_median: number | null;
  compute_ms_min: number | null;
  compute_ms_max: number | null;
  stdev_rel: number | null;
  a_pattern_ms: number | null;
  total_ms: number | null;
  tflops: number | null;
  speedup_compute: number | null;
  speedup_total: number | null;
  rel_err_frobenius: number | null;
  max_abs_err_rel: number | null;
  status: RowStatus;
  reason: string | null;
  /** Which invocation wrote the row: 1 for the first, n for the n-th resume (its sidecar). */
  run: number;
}

/** Label columns of a row, from a tensor's labels. */
export function labelColumns(labels: Record<string, string>): Pick<
  ResultRow,
  'label_pruner' | 'label_group' | 'label_perm' | 'label_sparsity' | 'label_layer' | 'labels_json'
> {
  const sorted = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    label_pruner: labels.pruner ?? null,
    label_group: labels.group ?? null,
    label_perm: labels.perm ?? null,
    label_sparsity: labels.sparsity ?? null,
    label_layer: labels.layer ?? null,
    labels_json: JSON.stringify(sorted),
  };
}

/** The synthetic sweep's CSV schema (`esmm-bench sweep`), same conventions as CSV_COLUMNS. */
export const SWEEP_COLUMNS = [
  'm',
  'k',
  'n',
  'mode',
  'density',
  'backend',
  'device',
  'kernel',
  'variant',
  'runs',
  'warmup',
  'l2',
  'seed',
  'skipped_slice_fraction',
  'compute_ms_median',
  'compute_ms_min',
  'compute_ms_max',
  'stdev_rel',
  'a_pattern_ms',
  'total_ms',
  'tflops',
  'speedup_compute',
  'speedup_total',
  'rel_err_frobenius',
  'max_abs_err_rel',
  'status',
  'reason',
  'run',
] as const;

export type SweepRow = Record<(typeof SWEEP_COLUMNS)[number], string | number | null>;
