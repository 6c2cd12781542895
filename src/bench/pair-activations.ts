import { aTileDensity } from '../activations/a-tile-density.js';
import type { ActivationDumpIndex } from '../activations/read-activation-dump-index.js';
import { readTensorF32 } from '../weights/index.js';
import type { Orientation, SkipRecord, TensorRef } from '../weights/types.js';
import { orientedShape } from './plan.js';
import { prng } from './sample-tree.js';
import { shuffleWithinTiles } from './shuffle-within-tiles.js';

/** Rows of an A pattern tile and k per pattern slice (DESIGN.md "The algorithm"). */
const TILE_M = 32;
const TILE_N = 32;
const SLICE_K = 8;

/** One benchmark item: a B (maybe synthetic), its A (captured, synthetic, or none = random dense), its M values. */
export interface PlannedPair {
  ref: TensorRef;
  aRef?: TensorRef;
  aSource: string;
  ms: number[];
}

export interface ActivationPairing {
  pairs: PlannedPair[];
  /** Weights with no captured input of the same module and K. */
  skipped: SkipRecord[];
  /** Reads real tensors from their files and makes the synthetic ones (dense B, controls, repeated A). */
  readTensor: (ref: TensorRef) => Promise<Float32Array>;
}

export interface PairActivationsParams {
  tensors: TensorRef[];
  /** The dump's index; each module's input is read when it is needed. */
  dump: ActivationDumpIndex;
  /** Token counts; undefined = the dump's own token count. Other counts repeat the token rows. */
  ms?: number[];
  orientation: Orientation;
  seed: number;
  /** Add rows with a random mask of the same density per tile beside every real B and real A. */
  control: boolean;
  /** Reader of the real tensors (default readTensorF32). */
  readTensor?: (ref: TensorRef) => Promise<Float32Array>;
}

/**
 * The dump module a weight belongs to: its tensor name without `.weight` (allowing for a dropped
 * `model.`/`transformer.` prefix), else its `layer` label (a pruned tree's file stem).
 */
function moduleOf(ref: TensorRef, modules: string[]): string | undefined {
  for (const base of [ref.name.replace(/\.weight$/, ''), ref.labels.layer ?? '']) {
    if (base === '') continue;
    const found = modules.find((m) => m === base) ?? modules.find((m) => m.endsWith('.' + base) || base.endsWith('.' + m));
    if (found) return found;
  }
  return undefined;
}

/** A's rows repeated cyclically to m rows (m = tokens gives A itself). */
function repeatRows(a: Float32Array, tokens: number, k: number, m: number): Float32Array {
  if (m === tokens) return a;
  const out = new Float32Array(m * k);
  for (let r = 0; r < m; r++) out.set(a.subarray((r % tokens) * k, (r % tokens) * k + k), r * k);
  return out;
}

/**
 * Pairs every weight with the captured input of its module (`run --activations`), and lays
 * out the rows a joint-sparsity comparison needs, side by side for each layer:
 * weight-only (real B, dense random A), joint (real B, captured A) and activation-only
 * (dense random B, captured A); with `control`, the same three with each real operand
 * replaced by a random mask of the same density per pattern tile. Synthetic tensors keep the
 * real file as source_file and get a tensor name that says what they are (with the seed, so a
 * cached pattern can never belong to another seed's tensor).
 */
export async function pairActivations(p: PairActivationsParams): Promise<ActivationPairing> {
  const modules = [...p.dump.inputs.keys()];
  const readReal = p.readTensor ?? readTensorF32;
  const tokens = p.dump.tokens;
  const dumpFile = p.dump.file;
  const ms = p.ms ?? [tokens];
  const synthetic = new Map<string, () => Promise<Float32Array>>();
  const key = (ref: Pick<TensorRef, 'file' | 'name'>): string => `${ref.file}\0${ref.name}`;
  const pairs: PlannedPair[] = [];
  const skipped: SkipRecord[] = [];

  for (const ref of p.tensors) {
    const orientation = ref.orientation ?? p.orientation;
    const { k } = orientedShape(ref, orientation);
    const found = moduleOf(ref, modules);
    const features = found === undefined ? undefined : p.dump.inputs.get(found)![1];
    if (found === undefined || features !== k) {
      skipped.push({
        file: ref.file,
        name: ref.name,
        shape: ref.shape,
        dtype: ref.dtype,
        labels: ref.labels,
        code: 'NOT_FOUND',
        reason: found === undefined ? `no input.<module> for ${ref.name || ref.labels.layer || ref.file} in ${dumpFile}` : `input.${found} has ${features} features, B has K = ${k}`,
      });
      continue;
    }
    const module = found;
    const [rows, cols] = ref.shape;
    const seedTag = `seed${p.seed}`;
    const denseB: TensorRef = { ...ref, name: `${ref.name}:dense-${seedTag}`, labels: { ...ref.labels, b_source: 'dense-random' } };
    synthetic.set(key(denseB), async () => {
      const rand = prng(p.seed ^ 0x5eed);
      return Float32Array.from({ length: rows * cols }, () => 1 - 2 * rand() || 0.5);
    });
    const realB: TensorRef = { ...ref, labels: { ...ref.labels, b_source: 'real' } };
    const controlB: TensorRef = { ...ref, name: `${ref.name}:control-random-${seedTag}`, labels: { ...ref.labels, b_source: 'control-random' } };
    // B's pattern tile is SLICE_K k × TILE_N columns; stored [n, k] for linear, [k, n] for raw.
    const [tileRows, tileCols] = orientation === 'raw' ? [SLICE_K, TILE_N] : [TILE_N, SLICE_K];
    synthetic.set(key(controlB), async () => shuffleWithinTiles(await readReal(ref), rows, cols, tileRows, tileCols, prng(p.seed ^ 0xb0b)));

    const captured: TensorRef = { file: dumpFile, name: `input.${module}`, shape: [tokens, k], dtype: 'F32', format: 'safetensors', labels: {} };
    for (const m of ms) {
      // Made again each time they are read: nothing of the size of A is held between tensors.
      const makeA = async (): Promise<Float32Array> => repeatRows(await readReal(captured), tokens, k, m);
      const makeControlA = async (): Promise<Float32Array> => shuffleWithinTiles(await makeA(), m, k, TILE_M, SLICE_K, prng(p.seed ^ 0xa11));
      const stats = (x: Float32Array): Record<string, string> => ({
        module,
        a_tile_density: aTileDensity(x, m, k).toFixed(4),
        a_element_sparsity: (x.reduce((z, v) => z + (v === 0 ? 1 : 0), 0) / x.length).toFixed(4),
      });
      const aRef: TensorRef = { ...captured, name: `input.${module}${m === tokens ? '' : `:rows${m}`}`, shape: [m, k] };
      synthetic.set(key(aRef), makeA);
      const aSource = `captured:${module}`;
      const realStats = stats(await makeA());
      // The seeded uniform A of a weight-only row has no zeros.
      const denseA = { module, a_tile_density: '1.0000', a_element_sparsity: '0.0000' };
      const withA = (b: TensorRef, variant: string, a: Record<string, string>): TensorRef => ({ ...b, labels: { ...b.labels, variant, ...a } });
      pairs.push({ ref: withA(realB, 'weight-only', denseA), aSource: 'random', ms: [m] });
      pairs.push({ ref: withA(realB, 'joint', realStats), aRef, aSource, ms: [m] });
      pairs.push({ ref: withA(denseB, 'activation-only', realStats), aRef, aSource, ms: [m] });
      if (p.control) {
        const aCtrlRef: TensorRef = { ...aRef, name: `input.${module}:control-random-${seedTag}${m === tokens ? '' : `:rows${m}`}` };
        synthetic.set(key(aCtrlRef), makeControlA);
        const controlStats = stats(await makeControlA());
        const controlA = `control-random:${module}`;
        pairs.push({ ref: withA(controlB, 'weight-only-control', denseA), aSource: 'random', ms: [m] });
        pairs.push({ ref: withA(controlB, 'joint-control', controlStats), aRef: aCtrlRef, aSource: controlA, ms: [m] });
        pairs.push({ ref: withA(denseB, 'activation-only-control', controlStats), aRef: aCtrlRef, aSource: controlA, ms: [m] });
      }
    }
  }
  return {
    pairs,
    skipped,
    readTensor: (ref) => synthetic.get(key(ref))?.() ?? readReal(ref),
  };
}
