import type { BenchmarkParams, BenchmarkResult, DeviceTensors, KernelRegistryEntry, NativeBinding, PatternParams } from '../../src/native/types.js';

const strict = { relFrobenius: 1e-5, maxAbsRel: 1e-5 };

/** The addon's kernel registry as a build with both backends reports it (the real one comes from native info()). */
export const FAKE_REGISTRY: KernelRegistryEntry[] = [
  { id: 'reference', backend: 'cpu', role: 'baseline', float32Accurate: true, tolerance: strict, description: 'float32 CPU GEMM', built: true },
  { id: 'esmm', backend: 'cpu', role: 'sparse', float32Accurate: true, tolerance: strict, description: 'CPU ESMM', built: true },
  { id: 'cublas', backend: 'cuda', role: 'baseline', float32Accurate: true, tolerance: strict, description: 'cuBLAS SGEMM', built: true },
  { id: 'dense-tf32x3', backend: 'cuda', role: 'baseline', float32Accurate: true, tolerance: strict, description: 'dense 3xTF32', built: true },
  { id: 'cublas-tf32', backend: 'cuda', role: 'reference', float32Accurate: false, tolerance: { relFrobenius: 5e-3, maxAbsRel: 1e-2 }, description: 'cuBLAS TF32', built: true },
  { id: 'cublas-bf16', backend: 'cuda', role: 'reference', float32Accurate: false, tolerance: { relFrobenius: 2e-2, maxAbsRel: 5e-2 }, description: 'cuBLAS BF16', built: true },
  { id: 'esmm', backend: 'cuda', role: 'sparse', float32Accurate: true, tolerance: strict, description: 'ESMM', built: true },
];

/** B (or A) patterns by the DESIGN.md definition, straight from the text. */
export function patternsTs(p: Pick<PatternParams, 'data' | 'rows' | 'cols' | 'operand'>): Uint8Array {
  const { data, rows, cols } = p;
  if (p.operand === 'B') {
    const k = rows;
    const n = cols;
    const slices = Math.ceil(k / 8);
    const out = new Uint8Array(Math.ceil(n / 32) * slices);
    for (let kk = 0; kk < k; kk++) {
      for (let c = 0; c < n; c++) {
        const v = data[kk * n + c];
        if (v !== 0) out[Math.floor(c / 32) * slices + (kk >> 3)] |= 1 << (kk & 7);
      }
    }
    return out;
  }
  const m = rows;
  const k = cols;
  const slices = Math.ceil(k / 8);
  const out = new Uint8Array(Math.ceil(m / 32) * slices);
  for (let r = 0; r < m; r++) {
    for (let kk = 0; kk < k; kk++) if (data[r * k + kk] !== 0) out[Math.floor(r / 32) * slices + (kk >> 3)] |= 1 << (kk & 7);
  }
  return out;
}

/**
 * A CPU-only stand-in for the addon with fixed timings, for tests of the pipeline's own
 * logic (what it plans, writes and resumes), and a log of every call.
 */
export function fakeNative(opts: { failOn?: (p: BenchmarkParams) => Error | null; cuda?: boolean } = {}): NativeBinding & {
  calls: BenchmarkParams[];
  patternCalls: number;
  patternBackends: string[];
} {
  const calls: BenchmarkParams[] = [];
  const binding = {
    calls,
    patternCalls: 0,
    patternBackends: [] as string[],
    info: () => ({
      addonVersion: 'fake',
      backends: opts.cuda ? ['cpu', 'cuda'] : ['cpu'],
      kernels: { cpu: ['reference', 'esmm'], ...(opts.cuda ? { cuda: ['cublas', 'esmm'] } : {}) },
      cpuThreads: 1,
      // Every id, as every build lists them; a CPU-only build runs the cpu ones.
      registry: FAKE_REGISTRY.map((e) => ({ ...e, built: opts.cuda === true || e.backend === 'cpu' })),
    }),
    devices: () =>
      opts.cuda
        ? [{ index: 0, name: 'Fake GPU', computeCapability: '9.0', smCount: 1, totalMemoryBytes: 1 << 30, l2CacheBytes: 1 << 20 }]
        : [],
    computePatterns: async (p: PatternParams) => {
      binding.patternCalls++;
      binding.patternBackends.push(p.backend);
      return patternsTs(p);
    },
    gemm: () => Promise.reject(new Error('the pipeline never calls gemm')),
    // The pipeline never uses device tensors.
    deviceTensors: {} as DeviceTensors,
    benchmark: async (p: BenchmarkParams): Promise<BenchmarkResult> => {
      calls.push(p);
      const err = opts.failOn?.(p);
      if (err) throw err;
      const time = (ms: number) => ({ median: ms, min: ms * 0.9, max: ms * 1.2, samples: Array.from({ length: p.runs }, () => ms) });
      return {
        backend: p.backend,
        device: p.backend === 'cuda' ? 'Fake GPU' : 'cpu (fake)',
        aPatterns: time(0.5),
        skippedSliceFraction: 0.25,
        kDensity: 0.7,
        reference: 'cpu-fp64',
        kernels: p.kernels.map((id) => ({
          id,
          ok: true,
          variant: id === 'esmm' ? 'fake-esmm' : 'fake-ref',
          time: time(id === 'esmm' ? 2 : id === 'dense-tf32x3' ? 3 : 4),
          relErrFrobenius: 1e-7,
          maxAbsErrRel: 2e-7,
          stdevRel: 0,
          noisy: false,
          callsPerSample: 1,
        })),
      };
    },
  };
  return binding;
}
