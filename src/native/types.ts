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

/** Verification bar of one kernel: both errors against the float64 reference must be at or under it. */
export interface KernelTolerance {
  /** Largest ‖C − C64‖_F / ‖C64‖_F that passes. */
  relFrobenius: number;
  /** Largest max |C − C64| / max |C64| that passes. */
  maxAbsRel: number;
}

/** One entry of the native kernel registry (the one table of kernel ids, roles and tolerances). */
export interface KernelRegistryEntry {
  id: string;
  backend: 'cpu' | 'cuda';
  /** 'baseline': a float32-accurate dense GEMM a speedup is stated against; 'sparse': ESMM; 'reference': a lower-precision row (TF32, BF16) shown where tensor cores put the bar. */
  role: 'baseline' | 'sparse' | 'reference';
  /** True for kernels whose results are float32-accurate (strict tolerance). */
  float32Accurate: boolean;
  tolerance: KernelTolerance;
  description: string;
  /** True when this build runs it (cuda rows need the CUDA backend, cuBLAS rows cuBLAS); every build lists every id. */
  built: boolean;
}

export interface NativeInfo {
  addonVersion: string;
  /** Commit of the sources the addon was built from, recorded at build time ('' when unknown). */
  buildCommit?: string;
  /** Every kernel id of every backend, with its role and verification tolerance, and whether this build runs it. */
  registry: KernelRegistryEntry[];
  /** Always contains 'cpu'; 'cuda' when built with CUDA. */
  backends: string[];
  cuda?: { runtimeVersion: string; driverVersion: string; error?: string };
  cublas?: { version: string };
  /** Kernel ids the native benchmark accepts per backend: the registry's built ids. */
  kernels: Record<string, string[]>;
  cpuThreads: number;
}

export interface PatternParams {
  /** Row-major matrix, read in place while the call runs (not copied): do not transfer it before it settles. */
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
  /** Minimum timed samples per kernel. */
  runs: number;
  l2: 'cold' | 'hot';
  /**
   * Noise discipline: after `runs` samples, keep sampling until the relative standard deviation
   * of the samples is at or under this (0 turns it off). Default 0.01 on cuda, 0.02 on cpu.
   */
  stdevTarget?: number;
  /** Upper bound on the sampling time of one kernel of one call, milliseconds (default 2000 cuda, 1000 cpu). */
  timeCapMs?: number;
  /** cpu only: each sample repeats the call until it lasts at least this long (default 20 ms). */
  minSampleMs?: number;
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
  /** Relative standard deviation (sample stdev / mean) of the timed samples. */
  stdevRel?: number;
  /** True when the time cap ended the sampling before stdevRel reached the target. */
  noisy?: boolean;
  /** cpu: calls per sample (each sample is their mean); 1 on cuda. */
  callsPerSample?: number;
  /** cuBLAS rows: every cublasLt candidate tried for the shape, with its median, fastest first. */
  candidates?: { algo: string; medianMs: number }[];
}

export interface BenchmarkResult {
  backend: 'cpu' | 'cuda';
  device: string;
  /** Time of the A-pattern pass (per call; where a k-list kernel will run it also writes A transposed). */
  aPatterns: SampleStats;
  /** Time of the one-off preparation of B for the Hopper (wgmma) path; absent where it does not run. */
  bPrepare?: SampleStats;
  /** Fraction of (32-row tile, 32-col tile, K-slice) triples whose joint pattern is 0. */
  skippedSliceFraction: number;
  /** Fraction of (32-row tile, 32-col tile, k) triples where both patterns have the bit: the share of k ESMM multiplies. */
  kDensity: number;
  /** 'cublasDgemm' on cuda, 'cpu-fp64' on cpu. */
  reference: string;
  kernels: KernelResult[];
}

/** One float32 GEMM on the GPU (cuBLAS SGEMM, plain float32: no TF32). Row-major operands. */
export interface GemmParams {
  /** A [m×k]. */
  a: Float32Array;
  /** B [k×n], or [n×k] with `transB` (nn.Linear's weight layout). */
  b: Float32Array;
  m: number;
  k: number;
  n: number;
  /** C = A·Bᵀ with B stored [n×k] (default false: C = A·B). */
  transB?: boolean;
  /** CUDA device index (default 0). */
  device?: number;
}

/** A float32 tensor kept on a GPU between calls of DeviceTensors, by handle (never reused). */
export type DeviceTensor = number;

/** The activation functions DeviceTensors reproduces (transformers' ACT2FN names). */
export type DeviceActivation = 'silu' | 'swish' | 'relu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh';

/**
 * Float32 tensors resident on a GPU and the steps of a decoder's forward pass on them
 * (native/device_tensors.cc, kernels/forward_ops.cu), for `capture --backend cuda`: activations
 * stay on the device, and only what the caller downloads comes back. Tensors are dense and
 * row-major; each call gives the shapes, checked against the tensors' element counts. Calls run in
 * the order they are made, on one stream per device; a step that makes a tensor resolves with its
 * handle, which the caller frees. Norms, RoPE angles and activations compute as the CPU path does
 * (src/activations/forward-ops.ts); projections are cuBLAS SGEMM in plain float32; attention is
 * float32. Rejects with USAGE (a bad argument, an unknown or freed handle, operands on two
 * devices), SHAPE, NO_BACKEND (built without CUDA; `linear` without cuBLAS), NO_DEVICE,
 * OUT_OF_MEMORY, CUDA_ERROR or CUBLAS_ERROR; a sticky CUDA error resets the device, and every
 * tensor on it is lost.
 */
export interface DeviceTensors {
  /** Copies data to the device (default 0). data must not change until the promise settles. */
  upload(p: { data: Float32Array; device?: number }): Promise<DeviceTensor>;
  download(p: { x: DeviceTensor }): Promise<Float32Array>;
  /** Frees the tensors; handles already gone (freed, or lost to a device reset) are ignored. */
  free(p: { tensors: DeviceTensor[] }): Promise<void>;
  /** [tokens, hidden]: the rows of table [vocab, hidden] by token id, plus row i of positions [≥ tokens, hidden] when given (GPT-2). */
  embed(p: { table: DeviceTensor; tokens: number[]; hidden: number; positions?: DeviceTensor }): Promise<DeviceTensor>;
  /** [rows, n] = x [rows, k] · W (+ bias [n]); W is [n, k] for 'out-in' (nn.Linear: x·Wᵀ), [k, n] for 'in-out' (Conv1D). */
  linear(p: { x: DeviceTensor; rows: number; k: number; weight: DeviceTensor; n: number; layout: 'out-in' | 'in-out'; bias?: DeviceTensor }): Promise<DeviceTensor>;
  /** RMSNorm of each row of x [rows, cols], times weight [cols]. */
  rmsNorm(p: { x: DeviceTensor; rows: number; cols: number; weight: DeviceTensor; eps: number }): Promise<DeviceTensor>;
  /** LayerNorm of each row of x [rows, cols] (biased variance), times weight plus bias [cols]. */
  layerNorm(p: { x: DeviceTensor; rows: number; cols: number; weight: DeviceTensor; bias: DeviceTensor; eps: number }): Promise<DeviceTensor>;
  /** In place: each head of x [tokens, heads·headDim] rotated by its token's position (rotate_half), invFreq [headDim / 2]. */
  rope(p: { x: DeviceTensor; tokens: number; heads: number; headDim: number; invFreq: DeviceTensor }): Promise<void>;
  /**
   * Causal attention: q [tokens, heads·headDim], k and v [tokens, kvHeads·headDim] (query head h reads
   * key/value head ⌊h·kvHeads/heads⌋), softmax(q·kᵀ·scale)·v → [tokens, heads·headDim]. A window w
   * lets token i see tokens j with i − w < j ≤ i. headDim ≤ 256.
   */
  attention(p: { q: DeviceTensor; k: DeviceTensor; v: DeviceTensor; tokens: number; heads: number; kvHeads: number; headDim: number; scale: number; window?: number | null }): Promise<DeviceTensor>;
  /** In place: x = act(x). */
  activation(p: { x: DeviceTensor; act: DeviceActivation }): Promise<void>;
  /** act(gate), rounded to float32, times up: the gated MLP's product. */
  gatedActivation(p: { gate: DeviceTensor; up: DeviceTensor; act: DeviceActivation }): Promise<DeviceTensor>;
  /** In place: x += y (residual). */
  add(p: { x: DeviceTensor; y: DeviceTensor }): Promise<void>;
  /** [rows, width]: columns [start, start + width) of x [rows, cols]. */
  sliceColumns(p: { x: DeviceTensor; rows: number; cols: number; start: number; width: number }): Promise<DeviceTensor>;
}

/** The addon's exports, as the loader types them. */
export interface NativeBinding {
  info(): NativeInfo;
  devices(): DeviceInfo[];
  computePatterns(params: PatternParams): Promise<Uint8Array>;
  benchmark(params: BenchmarkParams): Promise<BenchmarkResult>;
  /**
   * The same call on the calling thread, blocking it until done, for a thread that does nothing
   * else (a device worker of `--devices`: its calls then hold no libuv pool thread, which file
   * reads and pattern computations need); throws where `benchmark` rejects. B, A and the B
   * patterns are read in place rather than copied. Absent from addons built before it existed.
   */
  benchmarkSync?(params: BenchmarkParams): BenchmarkResult;
  /**
   * C [m×n] = A·B (or A·Bᵀ), row-major, by cuBLAS SGEMM; A and B are copied to the device on
   * every call. Rejects with USAGE/SHAPE for bad arguments, NO_BACKEND when the addon was built
   * without cuBLAS, NO_DEVICE without a GPU. Absent from addons built before it existed.
   */
  gemm(params: GemmParams): Promise<Float32Array>;
  /** Tensors kept on the GPU and the forward pass's steps on them. Absent from addons built before it existed. */
  deviceTensors: DeviceTensors;
}
