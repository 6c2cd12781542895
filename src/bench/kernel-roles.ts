import type { KernelRegistryEntry, KernelTolerance } from '../native/types.js';

/**
 * Every list of kernel ids is read from the addon's registry (the one table of ids, roles and
 * tolerances, native/kernel_registry.cc), whose entries name every id of every backend, built
 * here or not; nothing below names an id the table does not give it.
 */

/** Role order of the user's kernel lists: ESMM, then the dense baselines, then the references. */
const ROLE_RANK: Record<KernelRegistryEntry['role'], number> = { sparse: 0, baseline: 1, reference: 2 };

/** The entries of one backend (built or not), ordered by role, table order within a role. */
function byRole(registry: readonly KernelRegistryEntry[], backend: 'cpu' | 'cuda'): KernelRegistryEntry[] {
  return registry.filter((e) => e.backend === backend).sort((a, b) => ROLE_RANK[a.role] - ROLE_RANK[b.role]);
}

/**
 * The ids `--kernels` accepts: the GPU backend's (ESMM, its float32-accurate dense baselines, the
 * lower-precision references), then the ids only the CPU backend has ('reference').
 */
export function knownKernels(registry: readonly KernelRegistryEntry[]): string[] {
  return [...new Set([...byRole(registry, 'cuda'), ...byRole(registry, 'cpu')].map((e) => e.id))];
}

/**
 * What run, hf, sweep and default measure unless told otherwise: ESMM and the float32-accurate
 * dense baselines, by their GPU ids on every backend (on cpu they run as the CPU's, see mapKernel),
 * so a run record names the same kernels wherever it was written.
 */
export function defaultKernels(registry: readonly KernelRegistryEntry[]): string[] {
  return byRole(registry, 'cuda')
    .filter((e) => e.role !== 'reference')
    .map((e) => e.id);
}

/** Ids of the dense baseline rows of a result CSV, whichever backend wrote it (read by `report`). */
export function denseBaselineIds(registry: readonly KernelRegistryEntry[]): ReadonlySet<string> {
  return new Set(registry.filter((e) => e.role === 'baseline').map((e) => e.id));
}

/** A backend's SGEMM-class baseline, built or not: its first baseline ('cublas' on cuda, 'reference' on cpu). */
export function sgemmBaseline(registry: readonly KernelRegistryEntry[], backend: 'cpu' | 'cuda'): KernelRegistryEntry | undefined {
  return registry.find((e) => e.backend === backend && e.role === 'baseline');
}

/**
 * What each kernel of a backend is for, read from the addon's registry (the one table of ids
 * and tolerances): the float32-accurate dense baselines every speedup is stated against, and the
 * verification bar of every kernel.
 */
export interface KernelRoles {
  backend: 'cpu' | 'cuda';
  /** Float32-accurate dense baselines this build runs, registry order: cuBLAS SGEMM (or the CPU reference) first. */
  baselines: string[];
  /** The SGEMM-class baseline: 'cublas' on cuda, 'reference' on cpu; null in an addon built without cuBLAS. */
  sgemm: string | null;
  /** The project's dense 3xTF32 tensor-core GEMM, when the backend has it. */
  tf32x3: string | null;
  tolerance: ReadonlyMap<string, KernelTolerance>;
  /** The whole registry (every backend, built or not): what `--kernels` may name and how it maps here. */
  registry: readonly KernelRegistryEntry[];
}

export function kernelRoles(registry: readonly KernelRegistryEntry[], backend: 'cpu' | 'cuda'): KernelRoles {
  const entries = registry.filter((e) => e.backend === backend && e.built);
  const baselines = entries.filter((e) => e.role === 'baseline').map((e) => e.id);
  if (baselines.length === 0) throw new Error(`the addon's kernel registry has no baseline for the ${backend} backend`);
  const sgemm = sgemmBaseline(registry, backend);
  return {
    backend,
    baselines,
    sgemm: sgemm?.built ? sgemm.id : null,
    tf32x3: baselines.includes('dense-tf32x3') ? 'dense-tf32x3' : null,
    tolerance: new Map(entries.map((e) => [e.id, e.tolerance])),
    registry,
  };
}

/** The kernels one native call runs: the baselines first (so every row gets its speedups), then the rest asked for. */
export function callKernels(roles: KernelRoles, runnable: readonly string[]): string[] {
  return [...new Set([...roles.baselines, ...runnable])];
}
