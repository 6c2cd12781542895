/**
 * Writes an HF-layout Llama folder (config.json + model.safetensors) whose decoder-layer linear
 * weights are the layers of a generated LLM-shaped sample tree at one sparsity, with random norms,
 * embeddings and lm_head, so that `capture` of it gives a dump whose modules
 * (model.layers.N.self_attn.q_proj, …) `run <tree> --activations` pairs with the tree's layers:
 *
 *   node --import tsx scripts/make-llm-model.ts --out out/llm-model --tree out/llm-tree [--sparsity 0.5]
 *
 * A tree already at --tree is used as it is (its TREE.json gives the shapes); a missing one is
 * generated first (Llama-2-7B's shapes, --layers 2, sparsities 0.5, 0.75, 0.9, groups of 16,
 * column permutation, as scripts/generate-sample-tree.ts makes it). Heads are 128 wide, as many
 * key/value heads as query heads (the tree's k/v projections are square); vocabulary --vocab
 * (2048). --dtype bf16 writes BF16 (the tree's weights are BF16 already, so only the random
 * tensors are rounded). It is a random model: its activations have real shapes and flow, not a
 * trained model's statistics.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { SAMPLE_PRUNER, SAMPLE_TREES, ensureSampleTree, prng, type SampleTreeSpec } from '../src/bench/sample-tree.js';
import { readTensorF32 } from '../src/weights/index.js';

const HEAD_DIM = 128;

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    tree: { type: 'string', default: 'out/llm-tree' },
    layers: { type: 'string', default: '2' },
    sparsity: { type: 'string', default: '0.5' },
    group: { type: 'string', default: '16' },
    perm: { type: 'string', default: 'col' },
    vocab: { type: 'string', default: '2048' },
    dtype: { type: 'string', default: 'f32' },
    seed: { type: 'string', default: '1' },
  },
});
const usage = 'usage: make-llm-model.ts --out DIR [--tree out/llm-tree] [--layers 2] [--sparsity 0.5] [--group 16] [--perm col|row] [--vocab 2048] [--dtype f32|bf16] [--seed 1]';
const fail = (why: string): never => {
  process.stderr.write(`make-llm-model: ${why}\n${usage}\n`);
  process.exit(2);
};
if (!values.out) fail('--out is required');
if (values.dtype !== 'f32' && values.dtype !== 'bf16') fail(`--dtype must be f32 or bf16, got ${values.dtype}`);
if (values.perm !== 'col' && values.perm !== 'row') fail(`--perm must be col or row, got ${values.perm}`);
const out = values.out!;
const tree = values.tree;
const bf16 = values.dtype === 'bf16';
const sparsity = Number(values.sparsity);
const group = Number(values.group);
const vocab = Number(values.vocab);
if (!(vocab >= 1 && Number.isInteger(vocab))) fail(`--vocab must be a positive integer, got ${values.vocab}`);

/** The tree's spec from its TREE.json, generating the tree first when the folder is absent or empty. */
async function treeSpec(): Promise<SampleTreeSpec> {
  const marker = join(tree, 'TREE.json');
  if (!existsSync(marker)) {
    if (existsSync(tree) && readdirSync(tree).length > 0) fail(`${tree} holds files but no TREE.json: not a generated sample tree`);
    const spec = { ...SAMPLE_TREES.cuda, layers: Number(values.layers), seed: Number(values.seed) };
    await ensureSampleTree(tree, spec, (line) => process.stderr.write(line + '\n'));
    return spec;
  }
  return (JSON.parse(readFileSync(marker, 'utf8')) as { spec: SampleTreeSpec }).spec;
}

const spec = await treeSpec();
if (!spec.sparsities.includes(sparsity)) fail(`the tree at ${tree} has sparsities ${spec.sparsities.join(', ')}, not ${sparsity}`);
if (!spec.groups.includes(group)) fail(`the tree at ${tree} has groups ${spec.groups.join(', ')}, not ${group}`);
if (!spec.perms.includes(values.perm as 'col' | 'row')) fail(`the tree at ${tree} has permutations ${spec.perms.join(', ')}, not ${values.perm}`);
if (spec.hidden % HEAD_DIM !== 0) fail(`hidden ${spec.hidden} is not a multiple of the head size ${HEAD_DIM}`);
const h = spec.hidden;
const f = spec.intermediate;
const heads = h / HEAD_DIM;
const slice = join(tree, SAMPLE_PRUNER, `grp_${group}`, `${values.perm}_perm`, `sparsity_${sparsity}`);

interface Entry {
  name: string;
  shape: number[];
  data: () => Promise<Float32Array>;
}

const rand = prng(Number(values.seed) * 7919 + 17);
const random = (n: number, around: number, scale: number) => async () => Float32Array.from({ length: n }, () => around + (rand() * 2 - 1) * scale);
const fromTree = (module: string) => () => readTensorF32({ file: join(slice, `${module}_permuted.safetensors`), name: 'weight' });

const entries: Entry[] = [{ name: 'model.embed_tokens.weight', shape: [vocab, h], data: random(vocab * h, 0, 1) }];
for (let l = 0; l < spec.layers; l++) {
  const p = `model.layers.${l}`;
  entries.push({ name: `${p}.input_layernorm.weight`, shape: [h], data: random(h, 1, 0.1) });
  for (const [proj, rows, cols] of [['self_attn.q_proj', h, h], ['self_attn.k_proj', h, h], ['self_attn.v_proj', h, h], ['self_attn.o_proj', h, h]] as const) {
    entries.push({ name: `${p}.${proj}.weight`, shape: [rows, cols], data: fromTree(`${p}.${proj}`) });
  }
  entries.push({ name: `${p}.post_attention_layernorm.weight`, shape: [h], data: random(h, 1, 0.1) });
  for (const [proj, rows, cols] of [['mlp.gate_proj', f, h], ['mlp.up_proj', f, h], ['mlp.down_proj', h, f]] as const) {
    entries.push({ name: `${p}.${proj}.weight`, shape: [rows, cols], data: fromTree(`${p}.${proj}`) });
  }
}
entries.push({ name: 'model.norm.weight', shape: [h], data: random(h, 1, 0.1) });
entries.push({ name: 'lm_head.weight', shape: [vocab, h], data: random(vocab * h, 0, 1 / Math.sqrt(h)) });

/** bf16 bits of float32 values (round to nearest even). */
function toBf16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const res = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) res[i] = (bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) >>> 16;
  return res;
}

await mkdir(out, { recursive: true });
const config = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: h,
  intermediate_size: f,
  num_hidden_layers: spec.layers,
  num_attention_heads: heads,
  num_key_value_heads: heads,
  head_dim: HEAD_DIM,
  vocab_size: vocab,
  max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  hidden_act: 'silu',
  tie_word_embeddings: false,
  torch_dtype: bf16 ? 'bfloat16' : 'float32',
};
await writeFile(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');

// Streamed one tensor at a time: the float32 file of the default shapes is 1.7 GB.
const elementBytes = bf16 ? 2 : 4;
const header: Record<string, unknown> = {
  __metadata__: {
    format: 'pt',
    generated: 'true',
    generator: 'esmm-bench make-llm-model',
    tree_pruner: SAMPLE_PRUNER,
    tree_slice: `grp_${group}/${values.perm}_perm/sparsity_${sparsity}`,
  },
};
let offset = 0;
for (const e of entries) {
  const bytes = e.shape.reduce((a, b) => a * b, 1) * elementBytes;
  header[e.name] = { dtype: bf16 ? 'BF16' : 'F32', shape: e.shape, data_offsets: [offset, offset + bytes] };
  offset += bytes;
}
let json = JSON.stringify(header);
json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
const file = join(out, 'model.safetensors');
const tmp = `${file}.${process.pid}.tmp`;
const fh = await open(tmp, 'w');
try {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  await fh.write(len);
  await fh.write(Buffer.from(json, 'utf8'));
  for (const e of entries) {
    const data = await e.data();
    const body = bf16 ? toBf16(data) : data;
    await fh.write(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  }
} finally {
  await fh.close();
}
await rename(tmp, file);
process.stderr.write(
  `wrote ${out}: Llama, hidden ${h}, intermediate ${f}, ${spec.layers} layers, ${heads} heads, vocab ${vocab}, ${values.dtype}; ` +
    `decoder linears from ${slice}\n`,
);
