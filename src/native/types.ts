/** Types of the native addon's API (native/). */

export interface SampleStats {
  median: number;
  min: number;
  max: number;
  /** Every timed sample, in run order, milliseconds. */
  samples: number[];
}

export interface DeviceInfo {
  index: number;
  name: string;
  /** e.g. "9.0" */
  computeCapability: string;
  smCount: number;
  totalMemoryBytes: number;
  l2CacheBytes: number;
  smClockKHz?: number;
  memoryClockKHz?: number;
  pciBusId?: string;
}

export interface NativeInfo {
  addonVersion: string;
  /** Always contains 'cpu'; 'cuda' when built with CUDA. */
  backends: string[];
  cuda?: { runtimeVersion: string; driverVersion: string; error?: string };
  cublas?: { version: string };
  /** Kernel ids the native benchmark accepts per backend. */
  kernels: Record<string, string[]>;
  cpuThreads: number;
}

export interface PatternParams {
  /** Row-major matrix. */
  data: Float32Array;
  rows: number;
  cols: number;
  /** 'B': rows = K, cols = N (tiles of 32 columns). 'A': rows = M, cols = K (tiles of 32 rows). */
  operand: 'A' | 'B';
  backend: 'cpu' | 'cuda';
  device?: number;
}

export type SyntheticMode = 'joint' | 'b-only';

export interface BenchmarkParams {
  backend: 'cpu' | 'cuda';
  device?: number;
  m: number;
  k: number;
  n: number;
  /** B (K×N, row-major). Omit when `synthetic` is given. */
  b?: Float32Array;
  /** Precomputed B patterns (from the cache); computed natively when omitted. */
  bPatterns?: Uint8Array;
  /** A (M×K, row-major). Omitted: a dense random A from `seed` (or the synthetic generator). */
  a?: Float32Array;
  seed: number;
  /** Synthetic A and B with block patterns at `density` (sweep). */
  synthetic?: { mode: SyntheticMode; density: number };
  /** Kernel ids, e.g. ['cublas', 'esmm'] on cuda, ['reference', 'esmm'] on cpu. */
  kernels: string[];
  warmup: number;
  runs: number;
  l2: 'cold' | 'hot';
}

export interface KernelResult {
  id: string;
  /** Variant actually launched (e.g. tile config), for the record. */
  variant?: string;
  ok: boolean;
  /** Set when ok is false: why the kernel produced no time. */
  error?: string;
  errorCode?: string;
  time?: SampleStats;
  /** ‖C − C64‖_F / ‖C64‖_F against the float64 reference. */
  relErrFrobenius?: number;
  /** max |C − C64| / max |C64|. */
  maxAbsErrRel?: number;
  /** max |C − C_cublas| / max |C_cublas| when 'cublas' ran in the same call (cuda only). */
  maxAbsErrRelVsCublas?: number;
}

export interface BenchmarkResult {
  backend: 'cpu' | 'cuda';
  device: string;
  /** Time of the A-pattern computation (per call). */
  aPatterns: SampleStats;
  /** Fraction of (32-row tile, 32-col tile, K-slice) triples whose joint pattern is 0. */
  skippedSliceFraction: number;
  /** 'cublasDgemm' on cuda, 'cpu-fp64' on cpu. */
  reference: string;
  kernels: KernelResult[];
}

/** The addon's exports, as the loader types them. */
export interface NativeBinding {
  info(): NativeInfo;
  devices(): DeviceInfo[];
  computePatterns(params: PatternParams): Promise<Uint8Array>;
  benchmark(params: BenchmarkParams): Promise<BenchmarkResult>;
}
