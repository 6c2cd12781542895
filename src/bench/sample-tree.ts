import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '../patterns/pattern-file.js';

/** Bump when the generated data changes, so an old tree is regenerated. */
export const SAMPLE_TREE_VERSION = 1;
/** Pruner label of the generated tree: says where it comes from in every row. */
export const SAMPLE_PRUNER = 'generated-magnitude';

export interface SampleTreeSpec {
  hidden: number;
  intermediate: number;
  layers: number;
  sparsities: number[];
  groups: number[];
  perms: Array<'col' | 'row'>;
  seed: number;
}

/** LLM-shaped (Llama-2-7B proportions, 4096/11008) at full size for a GPU, scaled down for the CPU. */
export const SAMPLE_TREES: Record<'cpu' | 'cuda', SampleTreeSpec> = {
  cuda: { hidden: 4096, intermediate: 11008, layers: 1, sparsities: [0.5, 0.75, 0.9], groups: [16], perms: ['col'], seed: 1 },
  cpu: { hidden: 256, intermediate: 688, layers: 1, sparsities: [0.5, 0.75, 0.9], groups: [16], perms: ['col'], seed: 1 },
};

/** Deterministic 32-bit PRNG (mulberry32): the same tree on every machine. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/**
 * A Linear weight [out, in] with the structure pruning exploits in real LLMs: per-input-column
 * scales spread log-normally (outlier features) on top of Gaussian entries.
 */
function makeWeight(rows: number, cols: number, seed: number): Float32Array {
  const g = gaussian(prng(seed));
  const colScale = new Float32Array(cols);
  for (let c = 0; c < cols; c++) colScale[c] = Math.exp(0.8 * g());
  const w = new Float32Array(rows * cols);
  const std = 1 / Math.sqrt(cols);
  for (let r = 0; r < rows; r++) {
    const rowScale = Math.exp(0.2 * g());
    for (let c = 0; c < cols; c++) w[r * cols + c] = g() * std * colScale[c] * rowScale;
  }
  return w;
}

/**
 * Magnitude group pruning as the research tree was made: in every row, groups of `group`
 * consecutive input columns with the lowest L2 norm are zeroed until `sparsity` of the
 * groups are zero; then columns (col) or rows (row) are sorted by descending L1 norm.
 */
export function pruneAndPermute(w: Float32Array, rows: number, cols: number, group: number, sparsity: number, perm: 'col' | 'row'): Float32Array {
  const out = Float32Array.from(w);
  const nGroups = Math.ceil(cols / group);
  const zeroGroups = Math.round(sparsity * nGroups);
  const norms = new Float64Array(nGroups);
  const order = new Int32Array(nGroups);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let gi = 0; gi < nGroups; gi++) {
      let s = 0;
      for (let c = gi * group; c < Math.min(cols, (gi + 1) * group); c++) s += out[base + c] ** 2;
      norms[gi] = s;
      order[gi] = gi;
    }
    order.sort((a, b) => norms[a] - norms[b] || a - b);
    for (let i = 0; i < zeroGroups; i++) {
      const gi = order[i];
      out.fill(0, base + gi * group, base + Math.min(cols, (gi + 1) * group));
    }
  }
  if (perm === 'col') {
    const l1 = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) l1[c] += Math.abs(out[r * cols + c]);
    const idx = Array.from({ length: cols }, (_, i) => i).sort((a, b) => l1[b] - l1[a] || a - b);
    const permuted = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) permuted[r * cols + c] = out[r * cols + idx[c]];
    return permuted;
  }
  const l1 = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) l1[r] += Math.abs(out[r * cols + c]);
  const idx = Array.from({ length: rows }, (_, i) => i).sort((a, b) => l1[b] - l1[a] || a - b);
  const permuted = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) permuted.set(out.subarray(idx[r] * cols, idx[r] * cols + cols), r * cols);
  return permuted;
}

/** bf16 bits of a float32 (round to nearest even; values here are finite). */
function toBf16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = bits[i];
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** A single-tensor safetensors file (BF16, as pruned checkpoints are usually shipped). */
function safetensorsBf16(name: string, rows: number, cols: number, data: Float32Array, metadata: Record<string, string>): Buffer {
  const body = toBf16(data);
  let header = JSON.stringify({
    __metadata__: metadata,
    [name]: { dtype: 'BF16', shape: [rows, cols], data_offsets: [0, body.byteLength] },
  });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([len, Buffer.from(header), Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
}

/** The Llama decoder-layer linears: [out, in]. */
function layerShapes(spec: SampleTreeSpec): Array<{ name: string; rows: number; cols: number }> {
  const h = spec.hidden;
  const f = spec.intermediate;
  const shapes: Array<{ name: string; rows: number; cols: number }> = [];
  for (let l = 0; l < spec.layers; l++) {
    shapes.push(
      { name: `model.layers.${l}.self_attn.q_proj`, rows: h, cols: h },
      { name: `model.layers.${l}.self_attn.k_proj`, rows: h, cols: h },
      { name: `model.layers.${l}.self_attn.v_proj`, rows: h, cols: h },
      { name: `model.layers.${l}.self_attn.o_proj`, rows: h, cols: h },
      { name: `model.layers.${l}.mlp.gate_proj`, rows: f, cols: h },
      { name: `model.layers.${l}.mlp.up_proj`, rows: f, cols: h },
      { name: `model.layers.${l}.mlp.down_proj`, rows: h, cols: f },
    );
  }
  return shapes;
}

/**
 * Writes (once) a generated weight tree in the research layout
 * `<root>/generated-magnitude/grp_<g>/<col_perm|row_perm>/sparsity_<s>/<layer>_permuted.safetensors`.
 * A `TREE.json` written last marks it complete; a tree without it, or of another spec, is rebuilt.
 * Returns whether anything was generated.
 */
export async function ensureSampleTree(root: string, spec: SampleTreeSpec, log: (line: string) => void = () => {}): Promise<boolean> {
  const marker = join(root, 'TREE.json');
  const wanted = JSON.stringify({ generator: 'esmm-bench sample tree', version: SAMPLE_TREE_VERSION, spec });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return false;
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const shapes = layerShapes(spec);
  log(
    `generating a sample tree in ${root}: ${shapes.length} LLM-shaped layers (hidden ${spec.hidden}, intermediate ${spec.intermediate}) ` +
      `× sparsity ${spec.sparsities.join(', ')}, magnitude group pruning (generated, not a real checkpoint)`,
  );
  for (const [i, shape] of shapes.entries()) {
    const dense = makeWeight(shape.rows, shape.cols, spec.seed * 1000 + i);
    for (const group of spec.groups) {
      for (const perm of spec.perms) {
        for (const sparsity of spec.sparsities) {
          const pruned = pruneAndPermute(dense, shape.rows, shape.cols, group, sparsity, perm);
          const dir = join(root, SAMPLE_PRUNER, `grp_${group}`, `${perm}_perm`, `sparsity_${sparsity}`);
          const file = join(dir, `${shape.name}_permuted.safetensors`);
          await writeFileAtomic(
            file,
            safetensorsBf16('weight', shape.rows, shape.cols, pruned, { generated: 'true', generator: 'esmm-bench', pruner: SAMPLE_PRUNER }),
          );
        }
      }
    }
  }
  await writeFileAtomic(marker, wanted);
  return true;
}
