/**
 * The GPU path of `capture`: the native gemm (cuBLAS SGEMM, plain float32) against a float64
 * reference; GPU and CPU captures of tinystories-656k agreeing module by module; and a
 * random-weight Llama at hidden 4096 (the shapes of Llama-2-7B's layers) captured on the GPU and
 * checked against the CPU path. Skipped, with the reason printed, without a CUDA device and cuBLAS.
 *
 * "Relative error" below is ‖got − want‖_F / ‖want‖_F over one tensor. The CPU path accumulates
 * every dot product in float64; cuBLAS SGEMM accumulates in float32, so the two differ by
 * float32 rounding only: the bar is 1e-5 per module.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { relativeError } from '../../src/activations/relative-error.js';
import { writeSafetensors } from '../../src/activations/write-safetensors.js';
import type { ActivationDump } from '../../src/activations/types.js';
import { captureCommand } from '../../src/commands/capture.js';
import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { randomMatrix, rng } from '../native/reference.js';

const native = loadNative();
const info = native.info();
const skip = !hasCuda(native)
  ? `no CUDA device: ${info.backends.includes('cuda') ? (info.cuda?.error ?? 'none found') : 'addon built without CUDA'}`
  : info.cublas === undefined
    ? 'addon built without cuBLAS: the GPU capture path multiplies with cuBLAS SGEMM'
    : false;
const BAR = 1e-5;

function maxAbsRel(got: Float32Array, want: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return scale === 0 ? err : err / scale;
}

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
    assert.ok(err <= BAR, `${what}: ${name}: GPU vs CPU relative error ${err.toExponential(2)} > ${BAR} (max abs error / max |CPU| ${maxAbsRel(g, c).toExponential(2)})`);
  }
  return worst;
}

async function capture(dir: string, tokens: number[], out: string, backend: 'cpu' | 'cuda'): Promise<{ dump: ActivationDump; ms: number; backend: string }> {
  const t0 = performance.now();
  const res = await captureCommand(dir, { tokens: tokens.join(','), out, backend }, () => {});
  const ms = performance.now() - t0;
  return { dump: await readActivationDump(out), ms, backend: res.backend };
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
        const max = maxAbsRel(c, want);
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
      const worst = assertDumpsAgree(gpu.dump, cpu.dump, 'tinystories-656k');
      const top1 = (d: ActivationDump): number[] => {
        const v = d.logits!.shape[1];
        return Array.from({ length: tokens.length }, (_, i) => {
          const row = d.logits!.data.subarray(i * v, i * v + v);
          return row.indexOf(Math.max(...row));
        });
      };
      assert.deepEqual(top1(gpu.dump), top1(cpu.dump), 'top-1 token per position, GPU vs CPU');
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
