import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

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

/**
 * Standard normal draws by Box-Muller (the cosine branch) over two mulberry32 draws, inlined:
 * the same numbers as composing prng() by hand, a third faster.
 */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = Math.max(((t ^ (t >>> 14)) >>> 0) / 4294967296, 1e-12);
    s = (s + 0x6d2b79f5) >>> 0;
    t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const v = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/**
 * A Linear weight [out, in] with the structure pruning exploits in real LLMs: per-input-column
 * scales spread log-normally (outlier features) on top of Gaussian entries. Written into `out`
 * when given (at least rows×cols long), so a generator can reuse one buffer.
 */
function makeWeight(rows: number, cols: number, seed: number, out?: Float32Array): Float32Array {
  const g = gaussian(seed);
  const colScale = new Float32Array(cols);
  for (let c = 0; c < cols; c++) colScale[c] = Math.exp(0.8 * g());
  const w = out ? out.subarray(0, rows * cols) : new Float32Array(rows * cols);
  const std = 1 / Math.sqrt(cols);
  for (let r = 0; r < rows; r++) {
    const rowScale = Math.exp(0.2 * g());
    const base = r * cols;
    for (let c = 0; c < cols; c++) w[base + c] = g() * std * colScale[c] * rowScale;
  }
  return w;
}

/**
 * In every row of `out` (a copy of the weight), zeroes the `sparsity` share of groups of `group`
 * consecutive columns with the lowest L2 norm; ties go to the lower group index. The groups
 * zeroed are the first ones of the (norm, index) order, found by a numeric sort of the norms
 * and a threshold rather than a comparator sort per row.
 */
function pruneGroups(out: Float32Array, rows: number, cols: number, group: number, sparsity: number): void {
  const nGroups = Math.ceil(cols / group);
  const zeroGroups = Math.round(sparsity * nGroups);
  if (zeroGroups <= 0) return;
  const norms = new Float64Array(nGroups);
  const sorted = new Float64Array(nGroups);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let gi = 0; gi < nGroups; gi++) {
      let s = 0;
      const end = Math.min(cols, (gi + 1) * group);
      for (let c = gi * group; c < end; c++) s += out[base + c] ** 2;
      norms[gi] = s;
    }
    sorted.set(norms);
    sorted.sort();
    const threshold = sorted[Math.min(zeroGroups, nGroups) - 1];
    let below = 0;
    for (let gi = 0; gi < nGroups; gi++) if (norms[gi] < threshold) below++;
    let ties = Math.min(zeroGroups, nGroups) - below;
    for (let gi = 0; gi < nGroups; gi++) {
      const n = norms[gi];
      if (n < threshold || (n === threshold && ties-- > 0)) out.fill(0, base + gi * group, base + Math.min(cols, (gi + 1) * group));
    }
  }
}

/** The order that sorts columns (col) or rows (row) of `w` by descending L1 norm, index ascending on ties. */
function l1Order(w: Float32Array, rows: number, cols: number, perm: 'col' | 'row'): Int32Array {
  const count = perm === 'col' ? cols : rows;
  const l1 = new Float64Array(count);
  if (perm === 'col') {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) l1[c] += Math.abs(w[base + c]);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += Math.abs(w[base + c]);
      l1[r] = s;
    }
  }
  const idx = new Int32Array(count);
  for (let i = 0; i < count; i++) idx[i] = i;
  return idx.sort((a, b) => l1[b] - l1[a] || a - b);
}

/**
 * Magnitude group pruning as the research tree was made: in every row, groups of `group`
 * consecutive input columns with the lowest L2 norm are zeroed until `sparsity` of the
 * groups are zero; then columns (col) or rows (row) are sorted by descending L1 norm.
 */
export function pruneAndPermute(w: Float32Array, rows: number, cols: number, group: number, sparsity: number, perm: 'col' | 'row'): Float32Array {
  const out = w.slice(0, rows * cols);
  pruneGroups(out, rows, cols, group, sparsity);
  const idx = l1Order(out, rows, cols, perm);
  const permuted = new Float32Array(rows * cols);
  if (perm === 'col') {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) permuted[base + c] = out[base + idx[c]];
    }
  } else {
    for (let r = 0; r < rows; r++) permuted.set(out.subarray(idx[r] * cols, idx[r] * cols + cols), r * cols);
  }
  return permuted;
}

/** bf16 bits of one float32's bits (round to nearest even; values here are finite). */
function bf16Bits(x: number): number {
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/** The bf16 bits of `w` with its columns (col) or rows (row) in the order `idx`, into `out`. */
function permuteToBf16(w: Float32Array, rows: number, cols: number, perm: 'col' | 'row', idx: Int32Array, out: Uint16Array): void {
  const bits = new Uint32Array(w.buffer, w.byteOffset, rows * cols);
  if (perm === 'col') {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) out[base + c] = bf16Bits(bits[base + idx[c]]);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const src = idx[r] * cols;
      const dst = r * cols;
      for (let c = 0; c < cols; c++) out[dst + c] = bf16Bits(bits[src + c]);
    }
  }
}

/** The header of a single-tensor safetensors file (BF16, as pruned checkpoints are usually shipped). */
function safetensorsBf16Header(name: string, rows: number, cols: number, metadata: Record<string, string>): Buffer {
  let header = JSON.stringify({
    __metadata__: metadata,
    [name]: { dtype: 'BF16', shape: [rows, cols], data_offsets: [0, rows * cols * 2] },
  });
  header += ' '.repeat((8 - (header.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([len, Buffer.from(header)]);
}

export interface SampleTensor {
  name: string;
  /** [out, in], as a Linear stores it. */
  rows: number;
  cols: number;
}

/** The Llama decoder-layer linears of the spec, in generation order: [out, in]. */
export function sampleTreeTensors(spec: SampleTreeSpec): SampleTensor[] {
  const h = spec.hidden;
  const f = spec.intermediate;
  const shapes: SampleTensor[] = [];
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
 * Buffers one generator (a thread) reuses from tensor to tensor, grown to the largest: the dense
 * weight, its pruned copy and the bf16 body. Fresh buffers per tensor cost more in page faults
 * than the work itself.
 */
export class GeneratorScratch {
  private dense = new Float32Array(0);
  private pruned = new Float32Array(0);
  private body = new Uint16Array(0);

  buffers(count: number): { dense: Float32Array; pruned: Float32Array; body: Uint16Array } {
    if (this.dense.length < count) {
      this.dense = new Float32Array(count);
      this.pruned = new Float32Array(count);
      this.body = new Uint16Array(count);
    }
    return { dense: this.dense.subarray(0, count), pruned: this.pruned.subarray(0, count), body: this.body.subarray(0, count) };
  }
}

/**
 * Generates tensor `index` of the spec (its dense weight, from its own seed) and writes one file
 * per group × perm × sparsity. Every tensor depends on its index alone, so tensors can be made
 * in any order, on any thread, with the same bytes.
 */
export async function writeSampleTensor(root: string, spec: SampleTreeSpec, index: number, scratch = new GeneratorScratch()): Promise<void> {
  const shape = sampleTreeTensors(spec)[index];
  const count = shape.rows * shape.cols;
  const { dense, pruned, body } = scratch.buffers(count);
  makeWeight(shape.rows, shape.cols, spec.seed * 1000 + index, dense);
  const header = safetensorsBf16Header('weight', shape.rows, shape.cols, { generated: 'true', generator: 'esmm-bench', pruner: SAMPLE_PRUNER });
  const bodyBytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  for (const group of spec.groups) {
    for (const perm of spec.perms) {
      for (const sparsity of spec.sparsities) {
        pruned.set(dense);
        pruneGroups(pruned, shape.rows, shape.cols, group, sparsity);
        permuteToBf16(pruned, shape.rows, shape.cols, perm, l1Order(pruned, shape.rows, shape.cols, perm), body);
        const dir = join(root, SAMPLE_PRUNER, `grp_${group}`, `${perm}_perm`, `sparsity_${sparsity}`);
        await writeFileAtomic(join(dir, `${shape.name}_permuted.safetensors`), [header, bodyBytes]);
      }
    }
  }
}

export interface SampleTreeOptions {
  /** Threads generating tensors at once (default 1: this thread). Each holds one tensor at a time. */
  jobs?: number;
  /** After each tensor's files are written. */
  onTensor?: (done: number, total: number, tensor: SampleTensor) => void;
}

/**
 * Writes (once) a generated weight tree in the research layout
 * `<root>/generated-magnitude/grp_<g>/<col_perm|row_perm>/sparsity_<s>/<layer>_permuted.safetensors`.
 * A `TREE.json` written last marks it complete; a tree without it, or of another spec, is rebuilt.
 * With `jobs` > 1 the tensors are made on worker threads, largest first, byte for byte the same.
 * Returns whether anything was generated.
 */
export async function ensureSampleTree(
  root: string,
  spec: SampleTreeSpec,
  log: (line: string) => void = () => {},
  options: SampleTreeOptions = {},
): Promise<boolean> {
  const marker = join(root, 'TREE.json');
  const wanted = JSON.stringify({ generator: 'esmm-bench sample tree', version: SAMPLE_TREE_VERSION, spec });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return false;
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const shapes = sampleTreeTensors(spec);
  log(
    `generating a sample tree in ${root}: ${shapes.length} LLM-shaped layers (hidden ${spec.hidden}, intermediate ${spec.intermediate}) ` +
      `× sparsity ${spec.sparsities.join(', ')}, magnitude group pruning (generated, not a real checkpoint)`,
  );
  const jobs = Math.max(1, Math.min(Math.floor(options.jobs ?? 1), shapes.length));
  let done = 0;
  const finished = (index: number): void => options.onTensor?.(++done, shapes.length, shapes[index]);
  if (jobs === 1) {
    const scratch = new GeneratorScratch();
    for (let i = 0; i < shapes.length; i++) {
      await writeSampleTensor(root, spec, i, scratch);
      finished(i);
    }
  } else {
    // Largest first, so the last tensors to finish are small ones.
    const order = shapes.map((_, i) => i).sort((a, b) => shapes[b].rows * shapes[b].cols - shapes[a].rows * shapes[a].cols || a - b);
    await onWorkers(root, spec, order, jobs, finished);
  }
  await writeFileAtomic(marker, wanted);
  return true;
}

/** Hands the tensors of `order` to `jobs` worker threads, one at a time each; the first failure stops all. */
async function onWorkers(root: string, spec: SampleTreeSpec, order: number[], jobs: number, finished: (index: number) => void): Promise<void> {
  // Beside this module: .js when built, .ts under tsx, where tsx must be registered in the worker.
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./sample-tree-worker${ext}`, import.meta.url);
  const workers: Worker[] = [];
  let next = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      const feed = (w: Worker): void => {
        if (failed) return;
        if (next < order.length) {
          running++;
          w.postMessage({ index: order[next++] });
        } else if (running === 0) {
          resolve();
        }
      };
      for (let j = 0; j < jobs; j++) {
        const workerData = { root, spec };
        const w =
          ext === '.ts'
            ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, workerData })
            : new Worker(url, { workerData });
        workers.push(w);
        w.on('message', (msg: { index: number; error?: string }) => {
          running--;
          if (msg.error !== undefined) return fail(new Error(`generating ${msg.index}: ${msg.error}`));
          finished(msg.index);
          feed(w);
        });
        w.on('error', fail);
        w.on('exit', (code) => {
          if (code !== 0) fail(new Error(`a generator thread exited (${code})`));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
