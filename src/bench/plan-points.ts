import type { SyntheticMode } from '../native/types.js';
import { type TensorFacts, factsOf } from '../output/result-rows.js';
import type { Orientation, SkipRecord, TensorRef } from '../weights/types.js';
import type { KernelRoles } from './kernel-roles.js';
import type { PlannedPair } from './pair-activations.js';
import { compileRegexes, mapKernel, orientedShape, pairATensor, parseKernelList, selectTensor } from './plan.js';

/** A weight tensor to benchmark at each of `ms` with every kernel of the plan. */
export interface TensorSource {
  kind: 'tensor';
  /** Identity of the source in a plan (stable across machines running the same command). */
  key: string;
  ref: TensorRef;
  orientation: Orientation;
  k: number;
  n: number;
  /** For an A+B pair: the A tensor (its rows are M). */
  aRef?: TensorRef;
  ms: number[];
  aSource: string;
  /** Estimated work: Σ over M of m·k·n, plus k·n for reading and patterning it. */
  cost: number;
}

/** Something found that cannot be benchmarked: one `skipped` row without M or kernel. */
export interface SkipSource {
  kind: 'skip';
  key: string;
  facts: TensorFacts;
  orientation: Orientation;
  reason: string;
  /** A tensor that is not 2-D (a norm weight, a bias): expected in any checkpoint, counted apart. */
  notMatrix: boolean;
  cost: 0;
}

/** A synthetic block-pattern problem (sweep): one M, generated A and B. */
export interface SyntheticSource {
  kind: 'synthetic';
  key: string;
  m: number;
  k: number;
  n: number;
  mode: SyntheticMode;
  density: number;
  ms: number[];
  cost: number;
}

export type PlannedSource = TensorSource | SkipSource | SyntheticSource;

/**
 * The points of a run: every source × M × kernel, in the order their rows are written. A
 * kernel the backend cannot run stays a point, with its skip reason.
 */
export interface Plan {
  backend: 'cpu' | 'cuda';
  /** Kernels as asked for (deduplicated, validated). */
  requested: string[];
  /** Native kernel ids that run, in request order. */
  runnable: string[];
  /** Points that are skipped on this backend, and why. */
  unrunnable: { kernel: string; skip: string }[];
  /** The rows of one (source, M) come in this kernel order. */
  kernelOrder: string[];
  /** The float32-accurate dense baselines: every speedup is relative to them, and they run in every benchmark call. */
  roles: KernelRoles;
  /** Tensors the filters kept, over the whole run (every shard plans the same). */
  selected: number;
  sources: PlannedSource[];
}

function kernelsOf(kernels: string[], backend: 'cpu' | 'cuda', roles: KernelRoles): Omit<Plan, 'sources' | 'backend' | 'selected'> {
  const requested = parseKernelList(kernels, roles.registry);
  const mapped = requested.map((k) => mapKernel(k, backend, roles.registry));
  return {
    requested,
    runnable: [...new Set(mapped.filter((k) => !('skip' in k)).map((k) => k.kernel))],
    unrunnable: mapped.filter((k): k is { kernel: string; skip: string } => 'skip' in k),
    kernelOrder: mapped.map((k) => k.kernel),
    roles,
  };
}

/** Every (source, M) of a plan with the kernels that are points there. */
export function planPointCount(plan: Plan): number {
  const perM = plan.runnable.length + plan.unrunnable.length;
  return plan.sources.reduce((s, src) => s + (src.kind === 'skip' ? 1 : src.ms.length * perM), 0);
}

/**
 * The plan of a weight tree (or HF checkpoint): walk skips first, then each selected tensor in
 * walk order, or each selected (B, A, M) pair when `pairs` are given (`run --activations`).
 */
export function planTreePoints(params: {
  tensors: TensorRef[];
  skipped?: SkipRecord[];
  pairs?: PlannedPair[];
  orientation: Orientation;
  ms: number[];
  kernels: string[];
  backend: 'cpu' | 'cuda';
  roles: KernelRoles;
  filter?: string[];
  exclude?: string[];
  aTensors?: TensorRef[];
}): Plan {
  const kernels = kernelsOf(params.kernels, params.backend, params.roles);
  const filters = compileRegexes(params.filter, '--filter');
  const excludes = compileRegexes(params.exclude, '--exclude');
  const sources: PlannedSource[] = [];
  for (const skip of params.skipped ?? []) {
    sources.push({
      kind: 'skip',
      key: JSON.stringify([skip.file, skip.name ?? '']),
      facts: {
        file: skip.file,
        name: skip.name ?? '',
        labels: skip.labels ?? {},
        ...(skip.shape ? { shape: skip.shape } : {}),
        ...(skip.dtype ? { dtype: skip.dtype } : {}),
      },
      orientation: params.orientation,
      reason: `${skip.code}: ${skip.reason}`,
      notMatrix: skip.shape !== undefined && skip.shape.length !== 2,
      cost: 0,
    });
  }
  let selected = 0;
  for (const pair of params.pairs ?? []) {
    if (!selectTensor(pair.ref, filters, excludes)) continue;
    selected++;
    const orientation = pair.ref.orientation ?? params.orientation;
    const { k, n } = orientedShape(pair.ref, orientation);
    // One weight has several pairs (its A, a random A, each M): the key names the pair.
    const key = JSON.stringify([pair.ref.file, pair.ref.name, pair.aSource, pair.ms]);
    const cost = pair.ms.reduce((s, m) => s + m * k * n, k * n);
    sources.push({ kind: 'tensor', key, ref: pair.ref, orientation, k, n, ...(pair.aRef ? { aRef: pair.aRef } : {}), ms: pair.ms, aSource: pair.aSource, cost });
  }
  for (const ref of params.pairs ? [] : params.tensors) {
    if (!selectTensor(ref, filters, excludes)) continue;
    selected++;
    const orientation = ref.orientation ?? params.orientation;
    const { k, n } = orientedShape(ref, orientation);
    const key = JSON.stringify([ref.file, ref.name]);
    if (params.aTensors) {
      const aRef = pairATensor(ref, k, params.aTensors);
      if (!aRef) {
        sources.push({ kind: 'skip', key, facts: { ...factsOf(ref), k, n }, orientation, reason: `no A tensor with K = ${k} in --a-dir`, notMatrix: false, cost: 0 });
        continue;
      }
      const m = aRef.shape[0];
      sources.push({ kind: 'tensor', key, ref, orientation, k, n, aRef, ms: [m], aSource: `${aRef.file}#${aRef.name}`, cost: m * k * n + k * n });
    } else {
      const cost = params.ms.reduce((s, m) => s + m * k * n, k * n);
      sources.push({ kind: 'tensor', key, ref, orientation, k, n, ms: params.ms, aSource: 'random', cost });
    }
  }
  return { backend: params.backend, ...kernels, selected, sources };
}

/** The plan of a synthetic sweep: size × mode × density, in that nesting. */
export function planSyntheticPoints(params: {
  sizes: { m: number; k: number; n: number }[];
  modes: SyntheticMode[];
  densities: number[];
  kernels: string[];
  backend: 'cpu' | 'cuda';
  roles: KernelRoles;
}): Plan {
  const kernels = kernelsOf(params.kernels, params.backend, params.roles);
  const sources: PlannedSource[] = [];
  for (const { m, k, n } of params.sizes) {
    for (const mode of params.modes) {
      for (const density of params.densities) {
        sources.push({ kind: 'synthetic', key: JSON.stringify([m, k, n, mode, density]), m, k, n, mode, density, ms: [m], cost: m * k * n });
      }
    }
  }
  return { backend: params.backend, ...kernels, selected: sources.length, sources };
}
