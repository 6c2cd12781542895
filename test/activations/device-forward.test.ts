/**
 * The device forward passes (llamaForwardDevice, gpt2ForwardDevice) against the CPU ones, on a
 * host emulation of the addon's DeviceTensors built from the CPU path's own steps: the numbers
 * must be the same to the bit, so what is tested is the device passes' order of steps, their
 * shapes, the linear-input hook (downloaded once per input, replacements uploaded) and that
 * nothing is left on the device, also after a failure. test/gpu/ runs the real kernels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { runForward } from '../../src/activations/run-forward.js';
import type { Checkpoint, Gpt2Config, LinearInputHook, LlamaConfig, ModelConfig, Tensor } from '../../src/activations/types.js';
import { EsmmError } from '../../src/errors.js';
import { seededRandom } from './fixtures.js';
import { hostDeviceTensors, type HostDeviceTensors } from './host-device-tensors.js';

function checkpoint(tensors: Map<string, Tensor>): Checkpoint {
  return { get: (name) => tensors.get(name), names: () => [...tensors.keys()] };
}

function randomWeights(shapes: Record<string, number[]>, seed: number): Map<string, Tensor> {
  const rand = seededRandom(seed, 0.4);
  const out = new Map<string, Tensor>();
  for (const [name, shape] of Object.entries(shapes)) {
    // Norm weights around 1, everything else around 0.
    const around = /norm|ln_/.test(name) && name.endsWith('.weight') ? 1 : 0;
    out.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => around + rand()) });
  }
  return out;
}

function llamaConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    family: 'llama', modelType: 'llama', hidden: 16, intermediate: 24, layers: 2, heads: 4, kvHeads: 2, headDim: 4, vocab: 40,
    rmsEps: 1e-6, ropeTheta: 500, ropeScaling: null, slidingWindow: null, hiddenAct: 'silu', tieEmbeddings: true, ...over,
  };
}

function llamaWeights(c: LlamaConfig, opts: { bias?: boolean; qkNorm?: boolean }, seed: number): Map<string, Tensor> {
  const { hidden: h, intermediate: f, heads, kvHeads: kv, headDim: d } = c;
  const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [c.vocab, h], 'model.norm.weight': [h] };
  if (!c.tieEmbeddings) shapes['lm_head.weight'] = [c.vocab, h];
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(shapes, {
      [`${p}.input_layernorm.weight`]: [h],
      [`${p}.self_attn.q_proj.weight`]: [heads * d, h],
      [`${p}.self_attn.k_proj.weight`]: [kv * d, h],
      [`${p}.self_attn.v_proj.weight`]: [kv * d, h],
      [`${p}.self_attn.o_proj.weight`]: [h, heads * d],
      [`${p}.post_attention_layernorm.weight`]: [h],
      [`${p}.mlp.gate_proj.weight`]: [f, h],
      [`${p}.mlp.up_proj.weight`]: [f, h],
      [`${p}.mlp.down_proj.weight`]: [h, f],
    });
    if (opts.bias) Object.assign(shapes, { [`${p}.self_attn.q_proj.bias`]: [heads * d], [`${p}.self_attn.k_proj.bias`]: [kv * d], [`${p}.self_attn.v_proj.bias`]: [kv * d] });
    if (opts.qkNorm) Object.assign(shapes, { [`${p}.self_attn.q_norm.weight`]: [d], [`${p}.self_attn.k_norm.weight`]: [d] });
  }
  return randomWeights(shapes, seed);
}

function gpt2Config(over: Partial<Gpt2Config> = {}): Gpt2Config {
  return {
    family: 'gpt2', modelType: 'gpt2', hidden: 8, inner: 32, layers: 2, heads: 2, vocab: 50, positions: 16, lnEps: 1e-5,
    activation: 'gelu_new', scaleAttnWeights: true, scaleByInverseLayerIdx: false, ...over,
  };
}

/** As the original GPT-2 checkpoints store it: no `transformer.` prefix, Conv1D weights [in, out], the head tied. */
function gpt2Weights(c: Gpt2Config, seed: number): Map<string, Tensor> {
  const h = c.hidden;
  const shapes: Record<string, number[]> = { 'wte.weight': [c.vocab, h], 'wpe.weight': [c.positions, h], 'ln_f.weight': [h], 'ln_f.bias': [h] };
  for (let l = 0; l < c.layers; l++) {
    const p = `h.${l}`;
    Object.assign(shapes, {
      [`${p}.ln_1.weight`]: [h], [`${p}.ln_1.bias`]: [h],
      [`${p}.attn.c_attn.weight`]: [h, 3 * h], [`${p}.attn.c_attn.bias`]: [3 * h],
      [`${p}.attn.c_proj.weight`]: [h, h], [`${p}.attn.c_proj.bias`]: [h],
      [`${p}.ln_2.weight`]: [h], [`${p}.ln_2.bias`]: [h],
      [`${p}.mlp.c_fc.weight`]: [h, c.inner], [`${p}.mlp.c_fc.bias`]: [c.inner],
      [`${p}.mlp.c_proj.weight`]: [c.inner, h], [`${p}.mlp.c_proj.bias`]: [h],
    });
  }
  return randomWeights(shapes, seed);
}

interface Pass {
  inputs: Map<string, Float32Array>;
  logits: Float32Array;
}

async function pass(config: ModelConfig, weights: Map<string, Tensor>, tokens: number[], device?: HostDeviceTensors, hook?: LinearInputHook): Promise<Pass> {
  const inputs = new Map<string, Float32Array>();
  const logits = await runForward({
    config,
    weights: checkpoint(weights),
    tokens,
    ...(device ? { device: { tensors: device, index: 0 } } : {}),
    onLinearInput: (module, x, rows, cols) => {
      const y = hook?.(module, x, rows, cols);
      inputs.set(module, (y ?? x).slice());
      return y;
    },
  });
  return { inputs, logits };
}

/** Runs both passes and asserts they agree to the bit; returns the device's step calls. */
async function assertSame(config: ModelConfig, weights: Map<string, Tensor>, tokens: number[], hook?: LinearInputHook): Promise<string[]> {
  const cpu = await pass(config, weights, tokens, undefined, hook);
  const device = hostDeviceTensors();
  const gpu = await pass(config, weights, tokens, device, hook);
  assert.deepEqual([...gpu.inputs.keys()], [...cpu.inputs.keys()], 'the same linear inputs, in the same order');
  for (const [module, x] of cpu.inputs) assert.deepEqual(gpu.inputs.get(module), x, `input.${module}`);
  assert.deepEqual(gpu.logits, cpu.logits, 'logits');
  assert.deepEqual(device.live(), [], 'every device tensor freed');
  return device.calls;
}

const count = (calls: string[], step: string): number => calls.filter((c) => c === step).length;

describe('device forward passes against the CPU ones (host emulation of DeviceTensors)', () => {
  const tokens = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9];

  it('Llama: GQA, tied head; q, k and v share one download, as gate and up do', async () => {
    const c = llamaConfig();
    const calls = await assertSame(c, llamaWeights(c, {}, 1), tokens);
    assert.equal(count(calls, 'linear'), 2 * 7 + 1);
    // Per layer: the input norm's output (q, k, v), attention's (o), the post norm's (gate, up), the MLP's (down); then lm_head's and the logits.
    assert.equal(count(calls, 'download'), 2 * 4 + 2);
    assert.equal(count(calls, 'attention'), 2);
    assert.equal(count(calls, 'rope'), 4);
  });

  it('Qwen3-style: q/k/v biases, q/k norms, llama3 rope_scaling, untied head', async () => {
    const c = llamaConfig({ modelType: 'qwen3', headDim: 6, tieEmbeddings: false, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } });
    await assertSame(c, llamaWeights(c, { bias: true, qkNorm: true }, 2), tokens);
  });

  it('Mistral-style: sliding window, linear rope_scaling, MHA', async () => {
    const c = llamaConfig({ modelType: 'mistral', kvHeads: 4, slidingWindow: 3, ropeScaling: { type: 'linear', factor: 2 } });
    await assertSame(c, llamaWeights(c, {}, 3), tokens);
  });

  it('gated MLPs with the other activations: gelu, gelu_new, relu', async () => {
    for (const hiddenAct of ['gelu', 'gelu_new', 'relu']) {
      const c = llamaConfig({ hiddenAct });
      await assertSame(c, llamaWeights(c, {}, 4), tokens);
    }
  });

  it('GPT-2: learned positions, Conv1D weights, q/k/v split from c_attn, gelu_new, the head tied to wte', async () => {
    const c = gpt2Config();
    const calls = await assertSame(c, gpt2Weights(c, 5), tokens);
    assert.equal(count(calls, 'linear'), 2 * 4 + 1);
    assert.equal(count(calls, 'download'), 2 * 4 + 2);
    assert.equal(count(calls, 'sliceColumns'), 2 * 3);
  });

  it('GPT-2 with exact gelu, unscaled attention and scale_attn_by_inverse_layer_idx', async () => {
    await assertSame(gpt2Config({ activation: 'gelu', scaleAttnWeights: false }), gpt2Weights(gpt2Config(), 6), tokens);
    await assertSame(gpt2Config({ scaleByInverseLayerIdx: true }), gpt2Weights(gpt2Config(), 7), tokens);
  });

  it('a hook that replaces the inputs (a sparsifier) feeds its output to the projection on both paths', async () => {
    const zeroSmall: LinearInputHook = (_module, x) => x.map((v) => (Math.abs(v) < 0.3 ? 0 : v));
    const c = llamaConfig();
    const plain = await assertSame(c, llamaWeights(c, {}, 8), tokens);
    const sparse = await assertSame(c, llamaWeights(c, {}, 8), tokens, zeroSmall);
    assert.equal(count(sparse, 'upload') - count(plain, 'upload'), 2 * 7 + 1, 'one upload per replaced input');
    const g = gpt2Config();
    await assertSame(g, gpt2Weights(g, 9), tokens, zeroSmall);
  });

  it('a step that fails part-way leaves nothing on the device, and its error is the one thrown', async () => {
    const c = llamaConfig();
    const device = hostDeviceTensors();
    device.failOn('attention', new EsmmError('CUDA_ERROR', 'attention failed'));
    await assert.rejects(pass(c, llamaWeights(c, {}, 10), tokens, device), { code: 'CUDA_ERROR', message: 'attention failed' });
    assert.deepEqual(device.live(), []);
  });

  it('refuses what the CPU path refuses, before touching the device', async () => {
    const device = hostDeviceTensors();
    const c = llamaConfig({ hiddenAct: 'mish' });
    await assert.rejects(pass(c, llamaWeights(c, {}, 11), tokens, device), /activation "mish" is not reproduced/);
    await assert.rejects(pass(llamaConfig(), llamaWeights(llamaConfig(), {}, 11), [1, 40], device), { code: 'USAGE', message: /token id 40 is outside the vocabulary \(0…39\)/ });
    await assert.rejects(pass(gpt2Config(), gpt2Weights(gpt2Config(), 12), Array(17).fill(1), device), { code: 'USAGE', message: /17 tokens exceed the model's 16 positions/ });
    assert.deepEqual(device.calls, []);
  });
});
