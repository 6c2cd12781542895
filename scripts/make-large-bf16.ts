/**
 * Writes a deterministic BF16 safetensors file of Llama-7B-shaped layers (about 1 GiB by
 * default) for measuring `esmm-bench scan` throughput. Weights are pruned the ways real
 * checkpoints are: unstructured magnitude-style zeros, 2:4, and whole 32×8 blocks, so the
 * scan does real work on both the element and the block counts.
 *
 *   node --import tsx scripts/make-large-bf16.ts OUT.safetensors [--gib 1] [--seed 1]
 */
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { prng } from '../src/bench/sample-tree.js';

const HIDDEN = 4096;
const INTERMEDIATE = 11008;

interface Spec {
  name: string;
  shape: number[];
  pruning: 'unstructured' | 'two-four' | 'blocks' | 'none';
}

function layerSpecs(layer: number): Spec[] {
  const p = `model.layers.${layer}`;
  const pruning: Spec['pruning'][] = ['unstructured', 'two-four', 'blocks'];
  const kind = pruning[layer % pruning.length];
  return [
    { name: `${p}.input_layernorm.weight`, shape: [HIDDEN], pruning: 'none' },
    { name: `${p}.self_attn.q_proj.weight`, shape: [HIDDEN, HIDDEN], pruning: kind },
    { name: `${p}.self_attn.k_proj.weight`, shape: [HIDDEN, HIDDEN], pruning: kind },
    { name: `${p}.self_attn.v_proj.weight`, shape: [HIDDEN, HIDDEN], pruning: kind },
    { name: `${p}.self_attn.o_proj.weight`, shape: [HIDDEN, HIDDEN], pruning: kind },
    { name: `${p}.post_attention_layernorm.weight`, shape: [HIDDEN], pruning: 'none' },
    { name: `${p}.mlp.gate_proj.weight`, shape: [INTERMEDIATE, HIDDEN], pruning: kind },
    { name: `${p}.mlp.up_proj.weight`, shape: [INTERMEDIATE, HIDDEN], pruning: kind },
    { name: `${p}.mlp.down_proj.weight`, shape: [HIDDEN, INTERMEDIATE], pruning: kind },
  ];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bf16(x: number): number {
  f32[0] = x;
  return u32[0] >>> 16;
}

/** Fills `rows` rows of a BF16 weight starting at row `row0`. */
function fillRows(out: Uint16Array, row0: number, rows: number, cols: number, spec: Spec, rand: () => number): void {
  // Block pruning keeps a fixed pattern per (32-row band, 8-column group): about half zero.
  for (let r = 0; r < rows; r++) {
    const row = row0 + r;
    for (let c = 0; c < cols; c++) {
      const u = rand();
      // Roughly normal: sum of two uniforms, scaled like an initialised Linear.
      let v = (u + rand() - 1) * 0.05;
      if (spec.pruning === 'unstructured' && u < 0.5) v = 0;
      else if (spec.pruning === 'two-four' && (c & 3) < 2) v = 0;
      else if (spec.pruning === 'blocks' && ((Math.imul((row >> 5) + 1, 0x9e3779b1) ^ Math.imul((c >> 3) + 1, 0x85ebca6b)) >>> 0) % 2 === 0) v = 0;
      out[r * cols + c] = bf16(v);
    }
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { gib: { type: 'string', default: '1' }, seed: { type: 'string', default: '1' } },
  });
  const outPath = positionals[0];
  if (!outPath) throw new Error('usage: make-large-bf16.ts OUT.safetensors [--gib 1] [--seed 1]');
  const budget = Number(values.gib) * 1024 ** 3;
  // Whole layers in order until the next matrix would pass the budget.
  const specs: Spec[] = [];
  let bytes = 0;
  fill: for (let layer = 0; ; layer++) {
    for (const s of layerSpecs(layer)) {
      const b = s.shape.reduce((x, y) => x * y, 1) * 2;
      if (bytes + b > budget) break fill;
      specs.push(s);
      bytes += b;
    }
  }
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', generator: 'esmm-bench make-large-bf16' } };
  let offset = 0;
  for (const s of specs) {
    const n = s.shape.reduce((x, y) => x * y, 1) * 2;
    header[s.name] = { dtype: 'BF16', shape: s.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fh = await open(outPath, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    await fh.write(len);
    await fh.write(json);
    const rand = prng(Number(values.seed));
    for (const s of specs) {
      const rows = s.shape.length === 2 ? s.shape[0] : 1;
      const cols = s.shape.at(-1) as number;
      const chunkRows = Math.max(1, Math.floor((8 << 20) / (cols * 2)));
      const buf = new Uint16Array(chunkRows * cols);
      for (let r = 0; r < rows; r += chunkRows) {
        const n = Math.min(chunkRows, rows - r);
        if (s.pruning === 'none') buf.fill(bf16(1));
        else fillRows(buf, r, n, cols, s, rand);
        await fh.write(new Uint8Array(buf.buffer, 0, n * cols * 2));
      }
    }
  } finally {
    await fh.close();
  }
  process.stdout.write(`${outPath}: ${specs.length} tensors, ${offset + 8 + Buffer.byteLength(json)} bytes\n`);
}

await main();
