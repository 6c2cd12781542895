import type { Orientation, SkipRecord, TensorRef } from '../weights/types.js';

/** What `run`, `hf` and the default job hand to the pipeline (src/bench/run-pipeline.ts). */
export interface PipelineParams {
  tensors: TensorRef[];
  /** Found while walking but not benchmarkable: written as `skipped` rows. */
  skipped?: SkipRecord[];
  /** Default orientation; a TensorRef's own `orientation` wins. */
  orientation: Orientation;
  /** Token counts (rows of A). */
  ms: number[];
  kernels: string[];
  backend: 'auto' | 'cuda' | 'cpu';
  device?: number;
  runs: number;
  warmup: number;
  l2: 'cold' | 'hot';
  seed: number;
  /** CSV path; the JSON sidecar is written next to it. */
  out: string;
  resume: boolean;
  /** Pattern cache folder; default `.esmm-cache/` next to the weights (or ESMM_CACHE_DIR). */
  cacheDir?: string;
  /** Regexes on tensor name / labels. */
  filter?: string[];
  exclude?: string[];
  /** A tensors for A+B pairs (`run --a-dir`). */
  aTensors?: TensorRef[];
  /** The command line, for the sidecar. */
  argv: string[];
  /** Progress output: a bar on a TTY, plain lines otherwise, nothing when false. */
  progress?: boolean;
}

export interface PipelineSummary {
  rows: number;
  ok: number;
  failed: number;
  skipped: number;
  resumed: number;
  csvPath: string;
  sidecarPath: string;
  wallMs: number;
}
