import type { Orientation, SkipRecord, TensorRef } from '../weights/types.js';
import type { Shard } from './shard-plan.js';

/** How every point of a run is timed and where its rows go: the same for a weight tree and a sweep. */
export interface TimingParams {
  kernels: string[];
  device?: number;
  runs: number;
  warmup: number;
  l2: 'cold' | 'hot';
  seed: number;
  /** CSV path; the JSON sidecar is written next to it. */
  out: string;
  /** The command line, for the sidecar. */
  argv: string[];
}

/** What `run`, `hf` and the default job hand to the pipeline (src/bench/run-pipeline.ts). */
export interface PipelineParams extends TimingParams {
  tensors: TensorRef[];
  /** Found while walking but not benchmarkable: written as `skipped` rows. */
  skipped?: SkipRecord[];
  /** Default orientation; a TensorRef's own `orientation` wins. */
  orientation: Orientation;
  /** Token counts (rows of A). */
  ms: number[];
  backend: 'auto' | 'cuda' | 'cpu';
  resume: boolean;
  /** Pattern cache folder; default `.esmm-cache/` next to the weights (or ESMM_CACHE_DIR). */
  cacheDir?: string;
  /** Regexes on tensor name / labels. */
  filter?: string[];
  exclude?: string[];
  /** A tensors for A+B pairs (`run --a-dir`). */
  aTensors?: TensorRef[];
  /** Explicit (B, A, M) items (`run --activations`); when given, they replace `tensors`. */
  pairs?: import('./pair-activations.js').PlannedPair[];
  /** Progress output: a bar on a TTY, plain lines otherwise, nothing when false. */
  progress?: boolean;
  /** sha256 of the --labels rules file: recorded, and a resume must use the same. */
  labelRules?: string | null;
  /** Replace an existing CSV and its sidecars instead of refusing to touch them. */
  overwrite?: boolean;
  /** Run only this shard of the planned points (`--shard i/n`). */
  shard?: Shard;
  /** Several CUDA devices at once (`--devices 0,1` or `all`), one worker thread each; `device` is then unused. */
  devices?: number[] | 'all';
}

export interface PipelineSummary {
  rows: number;
  ok: number;
  failed: number;
  skipped: number;
  /** Of the skipped rows, those of tensors that are not 2-D (norm weights, biases): expected in any checkpoint. */
  notMatrix?: number;
  resumed: number;
  /** 2-D float tensors handed to the run, and how many of them the filters kept. */
  found?: number;
  selected?: number;
  csvPath: string;
  sidecarPath: string;
  wallMs: number;
  /** Which invocation of this CSV this was (1, then 2… for each resume). */
  run?: number;
  backend?: 'cpu' | 'cuda';
  stageMs?: StageTimes;
  /**
   * (wall − native_ms) / wall: the share of the run spent outside the native benchmark calls
   * (with --devices, of the devices' time: 1 − native_ms / (devices × wall), native_ms summed).
   * Stage busy times are larger than this when they overlap a benchmark (one-tensor lookahead).
   */
  hostOverheadFraction?: number;
}

/** Things a caller (or a test) may replace; each defaults to the real implementation. */
export interface PipelineDeps {
  native?: import('../native/types.js').NativeBinding;
  readTensor?: (ref: TensorRef) => Promise<Float32Array>;
  /** nvidia-smi readings before and after the run; null when unavailable. */
  nvidiaSmi?: () => Promise<Record<string, string | number | null>[] | null>;
  /** Progress lines and warnings (default: stderr). */
  log?: (line: string) => void;
  /** Whether progress goes to a terminal (a bar) or not (plain lines); default process.stderr.isTTY. */
  isTTY?: boolean;
  /** Opens one device of `--devices` (default: a worker thread with its own addon). */
  openDevice?: (index: number, name: string) => import('./device-slot.js').DeviceSlot;
  /**
   * How often the run record is rewritten while the run goes on (default 30 s), so a run stopped
   * from outside still leaves its stage times, rows so far and peak resident size.
   */
  recordEveryMs?: number;
}

/** Busy time per stage of a run, milliseconds (recorded in the sidecar); native_ms is the benchmark calls. */
export interface StageTimes {
  load_ms: number;
  convert_ms: number;
  pattern_ms: number;
  native_ms: number;
  write_ms: number;
  /** sha256 of the tensor files for the run record (0 when the cache index knew them). */
  hash_ms: number;
}
