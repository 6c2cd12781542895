/**
 * The GPU path of `capture`: the whole forward pass on the device (deviceTensors). The native gemm
 * (cuBLAS SGEMM, plain float32) against a float64 reference; the GPU capture of tinystories-656k
 * against transformers' own activations (../shared/activations); GPU and CPU captures agreeing
 * module by module on tinystories-656k, on GPT-2 (a tiny one and one of GPT-2's shapes), on a
 * random Llama over 1000 tokens, and on a random-weight Llama at hidden 4096 (the shapes of
 * Llama-2-7B's layers). Every GPU capture here is watched: its steps must all be device steps
 * (never the copying gemm), and only the linear inputs and the logits may come back. Skipped, with
 * the reason printed, without a CUDA device and cuBLAS.
 *
 * "Relative error" below is ‖got − want‖_F / ‖want‖_F over one tensor. The CPU path accumulates
 * every dot product in float64; cuBLAS SGEMM and the attention kernel accumulate in float32, so
 * the two differ by float32 rounding only: the bar is 1e-5 per module.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { maxAbsRelativeError, relativeError } from '../../src/activations/relative-error.js';
import { resolveCaptureBackend } from '../../src/activations/resolve-capture-backend.js';
import { writeSafetensors } from '../../src/activations/write-safetensors.js';
import type { ActivationDump } from '../../src/activations/types.js';
import { captureCommand } from '../../src/commands/capture.js';
import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import type { DeviceTensors } from '../../src/native/types.js';
import { writeTinyGpt2 } from '../activations/fixtures.js';
import { REPO_ROOT, SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { randomMatrix, rng } from '../native/reference.js';

const native = loadNative();
const info = native.info();
const skip = !hasCuda(native)
  ? `no CUDA device: ${info.backends.includes('cuda') ? (info.cuda?.error ?? 'none found') : 'addon built without CUDA'}`
  : info.cublas === undefined
    ? 'addon built without cuBLAS: the GPU capture path multiplies with cuBLAS SGEMM'
    : false;
const BAR = 1e-5;


/** Row-major C = A·B (B [k×n]) or A·Bᵀ (B [n×k]), accumulated in float64. */
function gemm64(a: Float32Array, b: Float32Array, m: number, k: number, n: number, transB: boolean): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  }
  return c;
}

/** Every input.<module> and the logits of two dumps agree to BAR; returns the worst module's error. */
function assertDumpsAgree(gpu: ActivationDump, cpu: ActivationDump, what: string): { module: string; err: number } {
  assert.deepEqual([...gpu.inputs.keys()], [...cpu.inputs.keys()], `${what}: the GPU and CPU dumps hold different modules`);
  let worst = { module: '', err: 0 };
  const pairs: Array<[string, Float32Array, Float32Array, number[], number[]]> = [...cpu.inputs].map(([module, t]) => [
    `input.${module}`,
    gpu.inputs.get(module)!.data,
    t.data,
    gpu.inputs.get(module)!.shape,
    t.shape,
  ]);
  pairs.push(['logits', gpu.logits!.data, cpu.logits!.data, gpu.logits!.shape, cpu.logits!.shape]);
  for (const [name, g, c, gs, cs] of pairs) {
    assert.deepEqual(gs, cs, `${what}: ${name} has shape [${gs.join(', ')}] on the GPU, [${cs.join(', ')}] on the CPU`);
    const err = relativeError(g, c);
    if (!(err <= worst.err)) worst = { module: name, err };
    assert.ok(err <= BAR, `${what}: ${name}: GPU vs CPU relative error ${err.toExponential(2)} > ${BAR} (max abs error / max |CPU| ${maxAbsRelativeError(g, c).toExponential(2)})`);
  }
  return worst;
}

/** How many times each device step ran in one capture. */
type StepCounts = Partial<Record<keyof DeviceTensors, number>>;

/** resolveCaptureBackend, with the addon's device steps counted and its copying gemm refused. */
function watched(counts: StepCounts): typeof resolveCaptureBackend {
  return (requested) => {
    const r = resolveCaptureBackend(requested);
    if (!r.native) return r;
    const steps = Object.fromEntries(
      Object.entries(r.native.deviceTensors).map(([name, fn]: [string, (p: unknown) => Promise<unknown>]) => [
        name,
        (p: unknown) => {
          counts[name as keyof DeviceTensors] = (counts[name as keyof DeviceTensors] ?? 0) + 1;
          return fn(p);
        },
      ]),
    ) as unknown as DeviceTensors;
    return { ...r, native: { ...r.native, deviceTensors: steps, gemm: () => Promise.reject(new Error('the GPU capture must not copy through gemm')) } };
  };
}

async function capture(dir: string, tokens: number[], out: string, backend: 'cpu' | 'cuda'): Promise<{ dump: ActivationDump; ms: number; backend: string; steps: StepCounts }> {
  const steps: StepCounts = {};
  const t0 = performance.now();
  const res = await captureCommand(dir, { tokens: tokens.join(','), out, backend }, () => {}, watched(steps));
  const ms = performance.now() - t0;
  return { dump: await readActivationDump(out), ms, backend: res.backend, steps };
}

/** The GPU capture ran on the device: per layer one attention, and downloads of its 4 distinct linear inputs; then lm_head's input and the logits. */
function assertDeviceResident(steps: StepCounts, layers: number, what: string): void {
  assert.equal(steps.attention, layers, `${what}: one attention step per layer`);
  assert.equal(steps.download, 4 * layers + 2, `${what}: downloads (linear inputs once each, then the logits)`);
  assert.ok((steps.linear ?? 0) >= 4 * layers + 1, `${what}: every projection a device step`);
}

/** Uniform random tensors scaled by 1/√fan-in (norm weights around 1), so activations stay O(1) and softmaxes are not saturated. */
function randomTensors(shapes: Record<string, number[]>, seed: number): Array<{ name: string; shape: number[]; data: Float32Array }> {
  const rand = rng(seed);
  return Object.entries(shapes).map(([name, shape]) => {
    const norm = /norm|ln_/.test(name) && name.endsWith('.weight');
    const bias = name.endsWith('.bias');
    const fanIn = shape.length === 2 ? (name.includes('.c_') ? shape[0] : shape[1]) : 1;
    const scale = norm ? 0.1 : bias ? 0.05 : name.includes('wte') || name.includes('wpe') || name.includes('embed') ? 1 : 2 / Math.sqrt(fanIn);
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < data.length; i++) data[i] = (norm ? 1 : 0) + (rand() * 2 - 1) * scale;
    return { name, shape, data };
  });
}

/** A random Llama with GQA, written as config.json + model.safetensors. */
async function writeRandomLlama(dir: string, c: { hidden: number; inter: number; layers: number; heads: number; kvHeads: number; vocab: number }): Promise<void> {
  const d = c.hidden / c.heads;
  const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [c.vocab, c.hidden], 'model.norm.weight': [c.hidden], 'lm_head.weight': [c.vocab, c.hidden] };
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(shapes, {
      [`${p}.input_layernorm.weight`]: [c.hidden], [`${p}.post_attention_layernorm.weight`]: [c.hidden],
      [`${p}.self_attn.q_proj.weight`]: [c.heads * d, c.hidden], [`${p}.self_attn.k_proj.weight`]: [c.kvHeads * d, c.hidden],
      [`${p}.self_attn.v_proj.weight`]: [c.kvHeads * d, c.hidden], [`${p}.self_attn.o_proj.weight`]: [c.hidden, c.heads * d],
      [`${p}.mlp.gate_proj.weight`]: [c.inter, c.hidden], [`${p}.mlp.up_proj.weight`]: [c.inter, c.hidden], [`${p}.mlp.down_proj.weight`]: [c.hidden, c.inter],
    });
  }
  const config = {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: c.hidden, intermediate_size: c.inter, num_hidden_layers: c.layers,
    num_attention_heads: c.heads, num_key_value_heads: c.kvHeads, vocab_size: c.vocab, rms_norm_eps: 1e-5, rope_theta: 10000,
    hidden_act: 'silu', tie_word_embeddings: false, torch_dtype: 'float32',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(join(dir, 'model.safetensors'), randomTensors(shapes, c.hidden + c.layers), { format: 'pt' });
}

/** A random GPT-2 of the given shape (transformers' names, Conv1D weights [in, out], the head tied to wte). */
async function writeRandomGpt2(dir: string, c: { hidden: number; heads: number; layers: number; vocab: number; positions: number }): Promise<void> {
  const h = c.hidden;
  const shapes: Record<string, number[]> = {
    'transformer.wte.weight': [c.vocab, h], 'transformer.wpe.weight': [c.positions, h], 'transformer.ln_f.weight': [h], 'transformer.ln_f.bias': [h],
  };
  for (let l = 0; l < c.layers; l++) {
    const p = `transformer.h.${l}`;
    Object.assign(shapes, {
      [`${p}.ln_1.weight`]: [h], [`${p}.ln_1.bias`]: [h], [`${p}.ln_2.weight`]: [h], [`${p}.ln_2.bias`]: [h],
      [`${p}.attn.c_attn.weight`]: [h, 3 * h], [`${p}.attn.c_attn.bias`]: [3 * h], [`${p}.attn.c_proj.weight`]: [h, h], [`${p}.attn.c_proj.bias`]: [h],
      [`${p}.mlp.c_fc.weight`]: [h, 4 * h], [`${p}.mlp.c_fc.bias`]: [4 * h], [`${p}.mlp.c_proj.weight`]: [4 * h, h], [`${p}.mlp.c_proj.bias`]: [h],
    });
  }
  const config = {
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: h, n_head: c.heads, n_layer: c.layers, vocab_size: c.vocab,
    n_positions: c.positions, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(join(dir, 'model.safetensors'), randomTensors(shapes, h + c.layers), { format: 'pt' });
}

/** argmax of each row of a dump's logits. */
function top1(d: ActivationDump): number[] {
  const [rows, v] = d.logits!.shape;
  return Array.from({ length: rows }, (_, i) => {
    const row = d.logits!.data.subarray(i * v, i * v + v);
    return row.indexOf(Math.max(...row));
  });
}

describe('gpu gemm (cuBLAS SGEMM, float32) against a float64 reference', { skip }, () => {
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [3, 5, 7], [17, 300, 129], [64, 4096, 1024], [5, 11008, 96]];
  for (const [m, k, n] of shapes) {
    for (const transB of [false, true]) {
      it(`${m}×${k}·${transB ? `(${n}×${k})ᵀ` : `${k}×${n}`}`, async () => {
        const a = randomMatrix(m, k, m + k + n);
        const b = transB ? randomMatrix(n, k, 7 * n + k) : randomMatrix(k, n, 7 * n + k);
        const c = await native.gemm({ a, b, m, k, n, transB });
        assert.ok(c instanceof Float32Array && c.length === m * n, `result has ${c.length} elements, want ${m * n}`);
        const want = gemm64(a, b, m, k, n, transB);
        const fro = relativeError(c, want);
        const max = maxAbsRelativeError(c, want);
        assert.ok(fro <= BAR && max <= BAR, `rel Frobenius ${fro.toExponential(2)}, max abs rel ${max.toExponential(2)} (bar ${BAR}); TF32 would give ~1e-3`);
      });
    }
  }

  it('an absent device is NO_DEVICE, and the next call still works', async () => {
    const p = { a: Float32Array.from([1, 2]), b: Float32Array.from([3, 4]), m: 1, k: 2, n: 1 };
    await assert.rejects(native.gemm({ ...p, device: 1023 }), (err: unknown) => {
      assert.ok(err instanceof EsmmError, String(err));
      assert.equal(err.code, 'NO_DEVICE', err.message);
      assert.match(err.message, /device 1023 not present/);
      return true;
    });
    assert.deepEqual([...(await native.gemm(p))], [11]);
  });
});

const ORACLE_DIR = resolve(REPO_ROOT, '..', 'shared', 'activations', 'tinystories-656k');

describe('capture on the GPU path against transformers (tinystories-656k)', { skip }, () => {
  it('every input.<module> of the oracle to 1e-5, and its logits top-1 on every token', async (t) => {
    const expected = JSON.parse(readFileSync(join(ORACLE_DIR, 'expected.json'), 'utf8')) as { file: string; tokens: number[]; logits: { argmax: number[] } };
    const oracle = await readActivationDump(join(ORACLE_DIR, expected.file));
    assert.deepEqual(oracle.tokens, expected.tokens);
    const { dir, cleanup } = tempDir();
    try {
      const gpu = await capture(join(SHARED_WEIGHTS, 'tinystories-656k'), oracle.tokens, join(dir, 'gpu.safetensors'), 'cuda');
      assert.equal(gpu.backend, 'cuda');
      assertDeviceResident(gpu.steps, 2, 'tinystories-656k');
      assert.deepEqual([...gpu.dump.inputs.keys()].sort(), [...oracle.inputs.keys()].sort());
      let worst = { module: '', err: 0 };
      for (const [module, want] of oracle.inputs) {
        const got = gpu.dump.inputs.get(module)!;
        assert.deepEqual(got.shape, want.shape, `input.${module} shape`);
        const err = relativeError(got.data, want.data);
        if (err > worst.err) worst = { module, err };
        assert.ok(err <= BAR, `input.${module}: GPU vs transformers relative error ${err.toExponential(2)} > ${BAR}`);
      }
      assert.deepEqual(top1(gpu.dump), expected.logits.argmax, 'top-1 token per position, GPU vs transformers');
      t.diagnostic(`worst GPU vs transformers: input.${worst.module} ${worst.err.toExponential(2)}; logits ${relativeError(gpu.dump.logits!.data, oracle.logits!.data).toExponential(2)}`);
    } finally {
      cleanup();
    }
  });
});

describe('capture on the GPU path agrees with the CPU path', { skip }, () => {
  it('tinystories-656k: every input.<module> and the logits to 1e-5, the same top-1', async (t) => {
    const { dir, cleanup } = tempDir();
    try {
      const model = join(SHARED_WEIGHTS, 'tinystories-656k');
      const tokens = [1, 432, 77, 1203, 9, 15, 600, 1999, 2, 45, 300, 301, 302, 1000, 5, 7];
      const gpu = await capture(model, tokens, join(dir, 'gpu.safetensors'), 'cuda');
      const cpu = await capture(model, tokens, join(dir, 'cpu.safetensors'), 'cpu');
      assert.equal(gpu.backend, 'cuda');
      assert.equal(gpu.dump.metadata.capture_backend, 'cuda');
      assert.equal(cpu.dump.metadata.capture_backend, 'cpu');
      assert.equal(gpu.dump.inputs.size, 15, 'tinystories-656k has 2 layers × 7 projections + lm_head');
      assertDeviceResident(gpu.steps, 2, 'tinystories-656k');
      const worst = assertDumpsAgree(gpu.dump, cpu.dump, 'tinystories-656k');
      assert.deepEqual(top1(gpu.dump), top1(cpu.dump), 'top-1 token per position, GPU vs CPU');
      t.diagnostic(`worst GPU vs CPU: ${worst.module} ${worst.err.toExponential(2)}; gpu ${gpu.ms.toFixed(0)} ms, cpu ${cpu.ms.toFixed(0)} ms`);
    } finally {
      cleanup();
    }
  });

  it('GPT-2: a tiny one as the original checkpoints store it, and one of GPT-2\'s shapes (hidden 768, 12 heads, 2 layers) over 41 tokens', async (t) => {
    const { dir, cleanup } = tempDir();
    try {
      await writeTinyGpt2(dir);
      const tokens = [3, 17, 42, 0, 9, 9, 31];
      const gpu = await capture(dir, tokens, join(dir, 'gpu.safetensors'), 'cuda');
      const cpu = await capture(dir, tokens, join(dir, 'cpu.safetensors'), 'cpu');
      assertDeviceResident(gpu.steps, 2, 'tiny GPT-2');
      const tiny = assertDumpsAgree(gpu.dump, cpu.dump, 'tiny GPT-2');

      const shaped = join(dir, 'gpt2-shaped');
      mkdirSync(shaped);
      await writeRandomGpt2(shaped, { hidden: 768, heads: 12, layers: 2, vocab: 512, positions: 64 });
      const rand = rng(41);
      const many = Array.from({ length: 41 }, () => Math.floor(rand() * 512));
      const g = await capture(shaped, many, join(dir, 'gpu2.safetensors'), 'cuda');
      const c = await capture(shaped, many, join(dir, 'cpu2.safetensors'), 'cpu');
      assertDeviceResident(g.steps, 2, 'GPT-2-shaped');
      const worst = assertDumpsAgree(g.dump, c.dump, 'GPT-2-shaped');
      assert.deepEqual(top1(g.dump), top1(c.dump), 'top-1 token per position, GPU vs CPU');
      t.diagnostic(`worst GPU vs CPU: tiny ${tiny.module} ${tiny.err.toExponential(2)}; GPT-2-shaped ${worst.module} ${worst.err.toExponential(2)} (gpu ${g.ms.toFixed(0)} ms, cpu ${c.ms.toFixed(0)} ms)`);
    } finally {
      cleanup();
    }
  });

  it('a random Llama (hidden 256, 8 heads, 2 kv heads, 2 layers) over 1000 tokens', async (t) => {
    const { dir, cleanup } = tempDir();
    try {
      await writeRandomLlama(dir, { hidden: 256, inter: 688, layers: 2, heads: 8, kvHeads: 2, vocab: 300 });
      const rand = rng(1000);
      const tokens = Array.from({ length: 1000 }, () => Math.floor(rand() * 300));
      const gpu = await capture(dir, tokens, join(dir, 'gpu.safetensors'), 'cuda');
      const cpu = await capture(dir, tokens, join(dir, 'cpu.safetensors'), 'cpu');
      assertDeviceResident(gpu.steps, 2, '1000-token Llama');
      const worst = assertDumpsAgree(gpu.dump, cpu.dump, '1000-token Llama');
      t.diagnostic(`worst GPU vs CPU: ${worst.module} ${worst.err.toExponential(2)}; gpu ${gpu.ms.toFixed(0)} ms, cpu ${cpu.ms.toFixed(0)} ms`);
    } finally {
      cleanup();
    }
  });

  it('a random-weight Llama at hidden 4096 (intermediate 11008, 32 heads, 8 kv heads, 1 layer): shapes, finite values, CPU agreement', async (t) => {
    const { dir, cleanup } = tempDir();
    try {
      const h = 4096;
      const f = 11008;
      const heads = 32;
      const kvHeads = 8;
      const d = 128;
      const vocab = 256;
      const config = {
        model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: h, intermediate_size: f, num_hidden_layers: 1,
        num_attention_heads: heads, num_key_value_heads: kvHeads, vocab_size: vocab, rms_norm_eps: 1e-5, rope_theta: 10000,
        hidden_act: 'silu', tie_word_embeddings: false, torch_dtype: 'float32',
      };
      // Uniform weights scaled by 1/√fan-in, so every projection's output is O(1) and the softmax is not saturated.
      const rand = rng(4096);
      const tensor = (name: string, shape: number[], scale: number, around = 0) => {
        const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
        for (let i = 0; i < data.length; i++) data[i] = around + (rand() * 2 - 1) * scale;
        return { name, shape, data };
      };
      const s = 1 / Math.sqrt(h);
      const p = 'model.layers.0';
      const tensors = [
        tensor('model.embed_tokens.weight', [vocab, h], 1),
        tensor(`${p}.input_layernorm.weight`, [h], 0.1, 1),
        tensor(`${p}.self_attn.q_proj.weight`, [heads * d, h], 4 * s),
        tensor(`${p}.self_attn.k_proj.weight`, [kvHeads * d, h], 4 * s),
        tensor(`${p}.self_attn.v_proj.weight`, [kvHeads * d, h], s),
        tensor(`${p}.self_attn.o_proj.weight`, [h, heads * d], s),
        tensor(`${p}.post_attention_layernorm.weight`, [h], 0.1, 1),
        tensor(`${p}.mlp.gate_proj.weight`, [f, h], 2 * s),
        tensor(`${p}.mlp.up_proj.weight`, [f, h], s),
        tensor(`${p}.mlp.down_proj.weight`, [h, f], 1 / Math.sqrt(f)),
        tensor('model.norm.weight', [h], 0.1, 1),
        tensor('lm_head.weight', [vocab, h], s),
      ];
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
      const tokens = [1, 200, 17, 255, 42];

      const gpu = await capture(dir, tokens, join(dir, 'gpu.safetensors'), 'cuda');
      assert.equal(gpu.backend, 'cuda');
      assertDeviceResident(gpu.steps, 1, 'hidden-4096 Llama');
      const want: Record<string, number> = {
        [`${p}.self_attn.q_proj`]: h, [`${p}.self_attn.k_proj`]: h, [`${p}.self_attn.v_proj`]: h, [`${p}.self_attn.o_proj`]: heads * d,
        [`${p}.mlp.gate_proj`]: h, [`${p}.mlp.up_proj`]: h, [`${p}.mlp.down_proj`]: f, lm_head: h,
      };
      assert.deepEqual([...gpu.dump.inputs.keys()].sort(), Object.keys(want).sort());
      for (const [module, cols] of Object.entries(want)) {
        const got = gpu.dump.inputs.get(module)!;
        assert.deepEqual(got.shape, [tokens.length, cols], `input.${module} shape`);
        const bad = got.data.findIndex((v) => !Number.isFinite(v));
        assert.equal(bad, -1, `input.${module}: element ${bad} is ${got.data[bad]}`);
      }
      assert.deepEqual(gpu.dump.logits!.shape, [tokens.length, vocab]);
      const badLogit = gpu.dump.logits!.data.findIndex((v) => !Number.isFinite(v));
      assert.equal(badLogit, -1, `logit ${badLogit} is ${gpu.dump.logits!.data[badLogit]}`);

      const cpu = await capture(dir, tokens, join(dir, 'cpu.safetensors'), 'cpu');
      const worst = assertDumpsAgree(gpu.dump, cpu.dump, 'hidden-4096 Llama');
      t.diagnostic(`worst GPU vs CPU: ${worst.module} ${worst.err.toExponential(2)}; gpu ${gpu.ms.toFixed(0)} ms, cpu ${cpu.ms.toFixed(0)} ms`);
    } finally {
      cleanup();
    }
  });
});
