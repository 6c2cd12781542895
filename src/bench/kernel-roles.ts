import type { KernelRegistryEntry, KernelTolerance } from '../native/types.js';

/** Ids of the dense baseline rows in a result CSV (read without the addon, e.g. by `report`). */
export const DENSE_BASELINE_IDS: ReadonlySet<string> = new Set(['cublas', 'dense-tf32x3', 'reference']);

/**
 * What each kernel of a backend is for, read from the addon's registry (the one table of ids
 * and tolerances): the float32-accurate dense baselines every speedup is stated against, and the
 * verification bar of every kernel.
 */
export interface KernelRoles {
  backend: 'cpu' | 'cuda';
  /** Float32-accurate dense baselines, registry order: cuBLAS SGEMM (or the CPU reference) first. */
  baselines: string[];
  /** The SGEMM-class baseline: 'cublas' on cuda, 'reference' on cpu; null in an addon built without cuBLAS. */
  sgemm: string | null;
  /** The project's dense 3xTF32 tensor-core GEMM, when the backend has it. */
  tf32x3: string | null;
  tolerance: ReadonlyMap<string, KernelTolerance>;
}

export function kernelRoles(registry: readonly KernelRegistryEntry[], backend: 'cpu' | 'cuda'): KernelRoles {
  const entries = registry.filter((e) => e.backend === backend);
  const baselines = entries.filter((e) => e.role === 'baseline').map((e) => e.id);
  if (baselines.length === 0) throw new Error(`the addon's kernel registry has no baseline for the ${backend} backend`);
  return {
    backend,
    baselines,
    sgemm: baselines.find((id) => id === 'cublas' || id === 'reference') ?? null,
    tf32x3: baselines.includes('dense-tf32x3') ? 'dense-tf32x3' : null,
    tolerance: new Map(entries.map((e) => [e.id, e.tolerance])),
  };
}

/** The kernels one native call runs: the baselines first (so every row gets its speedups), then the rest asked for. */
export function callKernels(roles: KernelRoles, runnable: readonly string[]): string[] {
  return [...new Set([...roles.baselines, ...runnable])];
}
