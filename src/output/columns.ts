/**
 * Columns added after the first schema (appended so earlier files stay readable): the joint
 * per-k density, the noise record, and the speedups against each float32-accurate dense
 * baseline of the same call.
 */
const FAIRNESS_COLUMNS = [
  'k_density',
  'noisy',
  'samples',
  'calls_per_sample',
  'speedup_tf32x3_compute',
  'speedup_tf32x3_total',
  'speedup_best_dense_compute',
  'speedup_best_dense_total',
  'best_dense_kernel',
] as const;

/** The timing, verification and status columns that close every result CSV (run and sweep). */
const MEASUREMENT_COLUMNS = [
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
  ...FAIRNESS_COLUMNS,
] as const;

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
  ...MEASUREMENT_COLUMNS,
  'b_dense_bytes',
  'b_esmm_bytes',
  'b_bsr32_bytes',
  'b_pattern_ms',
  'payback_calls',
  'b_prepare_ms',
] as const;

export type CsvColumn = (typeof CSV_COLUMNS)[number];

/**
 * The columns that are measurements of time or follow from them, and so differ between any two
 * runs of the same points: what a comparison of two runs' rows leaves out.
 */
export const TIMING_COLUMNS = [
  'compute_ms_median',
  'compute_ms_min',
  'compute_ms_max',
  'stdev_rel',
  'noisy',
  'samples',
  'a_pattern_ms',
  'total_ms',
  'tflops',
  'speedup_compute',
  'speedup_total',
  'speedup_tf32x3_compute',
  'speedup_tf32x3_total',
  'speedup_best_dense_compute',
  'speedup_best_dense_total',
  'b_pattern_ms',
  'payback_calls',
  'b_prepare_ms',
] as const satisfies readonly CsvColumn[];

/** What each column holds, with its unit: the README's column table is this list. */
export const CSV_COLUMN_DOCS: Record<CsvColumn, string> = {
  source_file: 'weight file holding the tensor, as given on the command line joined with the walk',
  tensor: "tensor name inside the file ('' for a bare torch.save tensor)",
  label_pruner: 'path label pruner (research layout), empty when absent',
  label_group: 'path label group: the n of grp_<n>',
  label_perm: 'path label perm: col or row',
  label_sparsity: 'path label sparsity: the x of sparsity_<x>',
  label_layer: 'path label layer: file stem without _permuted',
  labels_json: 'every label of the tensor as a JSON object (keys sorted), including user rules',
  shape_rows: 'rows of the tensor as stored (out_features for a Linear weight)',
  shape_cols: 'columns of the tensor as stored (in_features for a Linear weight)',
  source_dtype: 'dtype in the file (F32, F16, BF16, F64); converted exactly to float32',
  orientation: 'linear: B = Wᵀ; raw: B = W as stored',
  m: 'rows of A (tokens)',
  k: 'inner dimension (rows of B after orientation)',
  n: 'columns of B after orientation',
  a_source: "'random' (dense uniform A from the seed), <file>#<tensor> of the paired A (run --a-dir), captured:<module> or control-random:<module> (run --activations)",
  element_sparsity: 'fraction of the tensor’s elements that are exactly zero (0…1)',
  block_sparsity: 'fraction of 8×32 blocks of B (8 k × 32 columns) that are all zero (0…1)',
  skipped_slice_fraction: 'fraction of (32-row tile of A, 32-column tile of B, K-slice) triples whose joint pattern is 0 (0…1)',
  backend: 'cuda or cpu (cpu rows are CPU timings, never GPU numbers)',
  device: 'GPU name and index, or the CPU with its thread count',
  kernel:
    'esmm; the float32-accurate dense baselines cublas (cuBLAS SGEMM through cublasLt, fastest of its heuristic candidates) and dense-tf32x3 (this project’s dense 3xTF32 tensor-core GEMM); the references cublas-tf32, cublas-bf16; on cpu: reference (float32 loop, stands in for both baselines) and esmm',
  variant: 'the kernel variant launched (tile configuration; for cublas the cublasLt algorithm that won, of how many tried)',
  runs: 'minimum timed samples per kernel (see samples for how many were taken)',
  warmup: 'warm-up runs per kernel before timing',
  l2: 'cold (L2 flushed before every sample) or hot',
  seed: 'seed of the random A',
  compute_ms_median: 'median kernel time, milliseconds',
  compute_ms_min: 'fastest kernel time, milliseconds',
  compute_ms_max: 'slowest kernel time, milliseconds',
  stdev_rel: 'sample standard deviation / mean of the kernel times',
  a_pattern_ms: 'median time of the per-call A-pattern pass, milliseconds (esmm only; from 256 rows where the pattern density of B is below 0.3 it also writes A transposed for the k-list kernels, which then do not)',
  total_ms: 'compute_ms_median + a_pattern_ms, milliseconds (= compute for the other kernels)',
  tflops: 'dense-equivalent throughput, 2·m·n·k / compute_ms_median, TFLOP/s',
  speedup_compute: 'vs SGEMM: cublas compute_ms_median / this compute_ms_median (reference on cpu), same tensor and M, same call',
  speedup_total: 'vs SGEMM: cublas compute_ms_median / this total_ms',
  rel_err_frobenius: '‖C − C64‖_F / ‖C64‖_F against a float64 reference GEMM on the same inputs',
  max_abs_err_rel: 'max |C − C64| / max |C64|',
  status: 'ok, failed (benchmark or verification failed) or skipped (input not benchmarkable)',
  reason: 'why the row is not ok: an error code and a one-line message naming the file',
  run: 'which invocation wrote the row: 1, then 2… for each --resume (its sidecar is <csv>.json or <csv>.run-<n>.json)',
  k_density:
    'fraction of (32-row tile of A, 32-column tile of B, k) triples where both patterns have the bit: the share of k ESMM multiplies (0…1)',
  noisy: 'true when the time cap ended the sampling before stdev_rel reached the target (1 % on cuda, 2 % on cpu)',
  samples: 'timed samples taken (at least runs; more until stdev_rel met the target or the time cap)',
  calls_per_sample: 'kernel calls inside one sample (cpu: repeated until a sample lasts ≥ 10 ms, the sample is their mean; 1 on cuda)',
  speedup_tf32x3_compute: 'dense-tf32x3 compute_ms_median / this compute_ms_median, same call (empty on cpu)',
  speedup_tf32x3_total: 'dense-tf32x3 compute_ms_median / this total_ms',
  speedup_best_dense_compute:
    'the headline: compute_ms_median of the faster float32-accurate dense baseline of the same call (best_dense_kernel) / this compute_ms_median',
  speedup_best_dense_total: 'best dense baseline compute_ms_median / this total_ms',
  best_dense_kernel: 'which float32-accurate dense baseline was faster in this call (cublas or dense-tf32x3; reference on cpu)',
  b_dense_bytes: 'bytes of B stored dense: k·n·4 (float32)',
  b_esmm_bytes: 'bytes of B in ESMM’s compressed form: 1024 (8×32 float32) per non-empty 8×32 block, plus the pattern bytes (one per block); edge blocks count as full',
  b_bsr32_bytes: 'bytes of B as a 32×32 BSR: 4096 (32×32 float32) + 4 (int32 column index) per non-empty 32×32 block, plus (⌈k/32⌉+1)·4 of row pointers; edge blocks count as full',
  b_pattern_ms: 'time of the one-off B-pattern computation of the tensor, milliseconds (measured when computed; from the pattern cache on a hit; empty when the cache does not know it)',
  b_prepare_ms:
    'esmm and dense-tf32x3 rows on a Hopper GPU: median time of the one-off preparation of B for the wgmma path (B and its tf32 truncation remainder, transposed), milliseconds; kept per weight like the B patterns, so not in total_ms; empty where the call cannot take that path (fewer than 9 rows, another GPU, a build without sm_90a)',
  payback_calls: 'esmm rows: b_pattern_ms / (best float32 dense baseline compute_ms_median − total_ms), the calls that repay the B patterns; empty when ESMM is not faster',
};

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
  k_density: number | null;
  noisy: 'true' | 'false' | null;
  samples: number | null;
  calls_per_sample: number | null;
  speedup_tf32x3_compute: number | null;
  speedup_tf32x3_total: number | null;
  speedup_best_dense_compute: number | null;
  speedup_best_dense_total: number | null;
  best_dense_kernel: string | null;
  b_dense_bytes: number | null;
  b_esmm_bytes: number | null;
  b_bsr32_bytes: number | null;
  b_pattern_ms: number | null;
  payback_calls: number | null;
  b_prepare_ms: number | null;
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
  ...MEASUREMENT_COLUMNS,
] as const;

export type SweepRow = Record<(typeof SWEEP_COLUMNS)[number], string | number | null>;
