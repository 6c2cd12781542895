import { UsageError } from '../errors.js';
import type { Orientation, TensorRef } from '../weights/types.js';

/** Kernel ids the user may ask for (DESIGN.md "Backends"). */
export const KNOWN_KERNELS = ['esmm', 'cublas', 'dense-tf32x3', 'cublas-tf32', 'cublas-bf16', 'reference'] as const;

/** What run, hf, sweep and default measure unless told otherwise: ESMM and both float32-accurate dense baselines. */
export const DEFAULT_KERNELS = ['esmm', 'cublas', 'dense-tf32x3'] as const;

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
 * The native kernel id for a requested one on a backend, or why it cannot run there. On cpu
 * both dense baselines ('cublas', 'dense-tf32x3') become the CPU reference GEMM (its rows say
 * 'reference', never 'cublas').
 */
export function mapKernel(requested: string, backend: 'cpu' | 'cuda'): { kernel: string } | { kernel: string; skip: string } {
  if (backend === 'cpu') {
    if (requested === 'cublas' || requested === 'dense-tf32x3' || requested === 'reference') return { kernel: 'reference' };
    if (requested === 'esmm') return { kernel: 'esmm' };
    return { kernel: requested, skip: `${requested} has no CPU equivalent (cpu backend)` };
  }
  if (requested === 'reference') return { kernel: 'cublas' };
  return { kernel: requested };
}

export function parseKernelList(list: string[]): string[] {
  const out: string[] = [];
  for (const k of list) {
    if (!(KNOWN_KERNELS as readonly string[]).includes(k)) {
      throw new UsageError(`unknown kernel '${k}' (known: ${KNOWN_KERNELS.join(', ')})`);
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
