import { UsageError } from '../errors.js';
import type { KernelRegistryEntry } from '../native/types.js';
import type { Orientation, TensorRef } from '../weights/types.js';
import { knownKernels, sgemmBaseline } from './kernel-roles.js';

/**
 * Noise discipline per backend (nvbench's rule): after the minimum runs, a kernel is sampled until
 * the relative standard deviation of its samples is at or under `stdevTarget`, or `timeCapMs`
 * of sampling has passed (the row is then marked noisy). On the CPU every sample repeats the call
 * until it lasts `minSampleMs`, so the clock's resolution and one-off stalls do not decide it.
 */
export const SAMPLING: Record<'cpu' | 'cuda', { stdevTarget: number; timeCapMs: number; minSampleMs?: number }> = {
  cuda: { stdevTarget: 0.01, timeCapMs: 1000 },
  cpu: { stdevTarget: 0.02, timeCapMs: 400, minSampleMs: 10 },
};

/**
 * The native kernel id for a requested one on a backend, or why it cannot run there, from the
 * registry: an id the backend has is itself; another backend's float32-accurate dense baseline is
 * this backend's SGEMM-class one (on cpu 'cublas' and 'dense-tf32x3' both run the CPU reference,
 * whose rows say 'reference', never 'cublas'; on cuda 'reference' runs 'cublas'); anything else
 * has no equivalent there.
 */
export function mapKernel(
  requested: string,
  backend: 'cpu' | 'cuda',
  registry: readonly KernelRegistryEntry[],
): { kernel: string } | { kernel: string; skip: string } {
  if (registry.some((e) => e.backend === backend && e.id === requested)) return { kernel: requested };
  const sgemm = sgemmBaseline(registry, backend);
  if (sgemm && registry.some((e) => e.id === requested && e.role === 'baseline')) return { kernel: sgemm.id };
  return { kernel: requested, skip: `${requested} has no ${backend.toUpperCase()} equivalent (${backend} backend)` };
}

/** The requested ids, each once, in order; an id the registry does not know is a usage error. */
export function parseKernelList(list: string[], registry: readonly KernelRegistryEntry[]): string[] {
  const known = knownKernels(registry);
  const out: string[] = [];
  for (const k of list) {
    if (!known.includes(k)) {
      throw new UsageError(`unknown kernel '${k}' (known: ${known.join(', ')})`);
    }
    if (!out.includes(k)) out.push(k);
  }
  if (out.length === 0) throw new UsageError('no kernels given');
  return out;
}

export function compileRegexes(sources: string[] | undefined, flag: string): RegExp[] {
  return (sources ?? []).map((src) => {
    try {
      return new RegExp(src);
    } catch (err) {
      throw new UsageError(`${flag} ${JSON.stringify(src)}: ${(err as Error).message}`);
    }
  });
}

/** What a --filter / --exclude regex is tested against: the tensor name, its file, and each label as key=value. */
function subjects(ref: TensorRef): string[] {
  return [ref.name, ref.file, ...Object.entries(ref.labels).map(([k, v]) => `${k}=${v}`)];
}

/** Every --filter must match one of the subjects; any --exclude that matches one drops the tensor. */
export function selectTensor(ref: TensorRef, filters: RegExp[], excludes: RegExp[]): boolean {
  const s = subjects(ref);
  if (!filters.every((re) => s.some((x) => re.test(x)))) return false;
  return !excludes.some((re) => s.some((x) => re.test(x)));
}

/** K and N of B for a weight stored [rows, cols] (DESIGN.md "Orientation"). */
export function orientedShape(ref: TensorRef, orientation: Orientation): { k: number; n: number } {
  const [rows, cols] = ref.shape;
  return orientation === 'raw' ? { k: rows, n: cols } : { k: cols, n: rows };
}

/**
 * The A tensor paired with a B tensor (`run --a-dir`): A as stored is M×K and must have
 * B's K (after orientation). Among several, the one sharing the most labels, then the
 * closest file path, wins; ties go to the first in walk order.
 */
export function pairATensor(b: TensorRef, k: number, aTensors: TensorRef[]): TensorRef | undefined {
  let best: TensorRef | undefined;
  let bestScore = -1;
  for (const a of aTensors) {
    if (a.shape.length !== 2 || a.shape[1] !== k) continue;
    const shared = Object.entries(a.labels).filter(([key, v]) => b.labels[key] === v).length;
    const score = shared * 1e6 + commonPrefix(a.file, b.file);
    if (score > bestScore) {
      best = a;
      bestScore = score;
    }
  }
  return best;
}

function commonPrefix(x: string, y: string): number {
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return i;
}
