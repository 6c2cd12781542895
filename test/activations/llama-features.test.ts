import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { writeSafetensors } from '../../src/activations/write-safetensors.js';
import { captureCommand } from '../../src/commands/capture.js';
import { tempDir } from '../helpers.js';
import { seededRandom } from './fixtures.js';

type Weights = Map<string, { shape: number[]; data: Float32Array }>;
interface Cfg {
  hidden: number;
  inter: number;
  layers: number;
  heads: number;
  kv: number;
  headDim: number;
  vocab: number;
  eps: number;
  theta: number;
  window: number | null;
  /** inv_freq → scaled inv_freq, written out from the transformers formulas. */
  scale: (f: number) => number;
}

function randomLlama(cfg: Cfg, opts: { bias: boolean; qkNorm: boolean }, seed: number): Weights {
  const rand = seededRandom(seed, 0.4);
  const w: Weights = new Map();
  const add = (name: string, shape: number[], around = 0): void => {
    w.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => around + rand()) });
  };
  const { hidden: h, inter: f, heads, kv, headDim: d } = cfg;
  add('model.embed_tokens.weight', [cfg.vocab, h]);
  for (let l = 0; l < cfg.layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [h], 1);
    add(`${p}.self_attn.q_proj.weight`, [heads * d, h]);
    add(`${p}.self_attn.k_proj.weight`, [kv * d, h]);
    add(`${p}.self_attn.v_proj.weight`, [kv * d, h]);
    if (opts.bias) {
      add(`${p}.self_attn.q_proj.bias`, [heads * d]);
      add(`${p}.self_attn.k_proj.bias`, [kv * d]);
      add(`${p}.self_attn.v_proj.bias`, [kv * d]);
    }
    if (opts.qkNorm) {
      add(`${p}.self_attn.q_norm.weight`, [d], 1);
      add(`${p}.self_attn.k_norm.weight`, [d], 1);
    }
    add(`${p}.self_attn.o_proj.weight`, [h, heads * d]);
    add(`${p}.post_attention_layernorm.weight`, [h], 1);
    add(`${p}.mlp.gate_proj.weight`, [f, h]);
    add(`${p}.mlp.up_proj.weight`, [f, h]);
    add(`${p}.mlp.down_proj.weight`, [h, f]);
  }
  add('model.norm.weight', [h], 1);
  add('lm_head.weight', [cfg.vocab, h]);
  return w;
}

/** The Llama decoder written out plainly with nested arrays, sharing no code with the tool. */
function referenceLlama(cfg: Cfg, w: Weights, tokens: number[]): { inputs: Map<string, number[][]>; logits: number[][] } {
  const get = (n: string): Float32Array | undefined => w.get(n)?.data;
  const inputs = new Map<string, number[][]>();
  const linear = (module: string, x: number[][]): number[][] => {
    inputs.set(module, x);
    const [out, inn] = w.get(`${module}.weight`)!.shape;
    const W = get(`${module}.weight`)!;
    const b = get(`${module}.bias`);
    return x.map((row) => Array.from({ length: out }, (_, j) => row.reduce((s, v, i) => s + v * W[j * inn + i], 0) + (b ? b[j] : 0)));
  };
  const rms = (row: number[], weight: Float32Array): number[] => {
    const inv = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length + cfg.eps);
    return row.map((v, i) => v * inv * weight[i]);
  };
  const d = cfg.headDim;
  const inv = Array.from({ length: d / 2 }, (_, i) => cfg.scale(1 / cfg.theta ** ((2 * i) / d)));
  const rope = (v: number[], pos: number): number[] => {
    const out = [...v];
    for (let i = 0; i < d / 2; i++) {
      const c = Math.cos(pos * inv[i]);
      const s = Math.sin(pos * inv[i]);
      out[i] = v[i] * c - v[i + d / 2] * s;
      out[i + d / 2] = v[i + d / 2] * c + v[i] * s;
    }
    return out;
  };
  const h = cfg.hidden;
  let x = tokens.map((t) => Array.from(get('model.embed_tokens.weight')!.subarray(t * h, t * h + h)));
  for (let l = 0; l < cfg.layers; l++) {
    const p = `model.layers.${l}`;
    const hn = x.map((r) => rms(r, get(`${p}.input_layernorm.weight`)!));
    const q = linear(`${p}.self_attn.q_proj`, hn);
    const k = linear(`${p}.self_attn.k_proj`, hn);
    const v = linear(`${p}.self_attn.v_proj`, hn);
    const head = (row: number[], j: number, norm: string): number[] => {
      const part = row.slice(j * d, j * d + d);
      const nw = get(`${p}.self_attn.${norm}.weight`);
      return nw ? rms(part, nw) : part;
    };
    const attn = tokens.map((_, i) => {
      const out: number[] = [];
      for (let hh = 0; hh < cfg.heads; hh++) {
        const g = Math.floor(hh / (cfg.heads / cfg.kv));
        const qi = rope(head(q[i], hh, 'q_norm'), i);
        const js = tokens.map((__, j) => j).filter((j) => j <= i && (cfg.window === null || i - j < cfg.window));
        const s = js.map((j) => rope(head(k[j], g, 'k_norm'), j).reduce((a, kv, e) => a + kv * qi[e], 0) / Math.sqrt(d));
        const mx = Math.max(...s);
        const e = s.map((z) => Math.exp(z - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < d; c++) out.push(js.reduce((a, j, n) => a + (e[n] / z) * v[j][g * d + c], 0));
      }
      return out;
    });
    const o = linear(`${p}.self_attn.o_proj`, attn);
    x = x.map((r, i) => r.map((val, j) => val + o[i][j]));
    const pn = x.map((r) => rms(r, get(`${p}.post_attention_layernorm.weight`)!));
    const gate = linear(`${p}.mlp.gate_proj`, pn);
    const up = linear(`${p}.mlp.up_proj`, pn);
    const mid = gate.map((r, i) => r.map((g, j) => (g / (1 + Math.exp(-g))) * up[i][j]));
    const dn = linear(`${p}.mlp.down_proj`, mid);
    x = x.map((r, i) => r.map((val, j) => val + dn[i][j]));
  }
  const logits = linear('lm_head', x.map((r) => rms(r, get('model.norm.weight')!)));
  return { inputs, logits };
}

function relError(got: Float32Array, want: number[][]): number {
  const flat = want.flat();
  let num = 0;
  let den = 0;
  flat.forEach((v, i) => {
    num += (got[i] - v) ** 2;
    den += v * v;
  });
  return Math.sqrt(num / den);
}

async function check(config: Record<string, unknown>, cfg: Cfg, opts: { bias: boolean; qkNorm: boolean }, tokens: number[]): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    const weights = randomLlama(cfg, opts, 11);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    await writeSafetensors(join(dir, 'model.safetensors'), [...weights].map(([name, t]) => ({ name, ...t })), {});
    const out = join(dir, 'd.safetensors');
    await captureCommand(dir, { tokens: tokens.join(','), out }, () => {});
    const dump = await readActivationDump(out);
    const ref = referenceLlama(cfg, weights, tokens);
    assert.deepEqual([...dump.inputs.keys()].sort(), [...ref.inputs.keys()].sort());
    for (const [module, want] of ref.inputs) {
      const err = relError(dump.inputs.get(module)!.data, want);
      assert.ok(err <= 1e-5, `${module}: relative error ${err}`);
    }
    assert.ok(relError(dump.logits!.data, ref.logits) <= 1e-5, 'logits');
  } finally {
    cleanup();
  }
}

describe('capture: Llama-family features against a plain reference', () => {
  const base = { hidden: 16, inter: 24, layers: 2, heads: 4, kv: 2, headDim: 6, vocab: 40, eps: 1e-6, theta: 500 };

  it('Qwen-style: q/k/v biases, q/k norms, explicit head_dim, GQA, llama3 rope_scaling, untied head', async () => {
    const rope = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    const llama3 = (f: number): number => {
      const wavelen = (2 * Math.PI) / f;
      const lowWl = 64 / 1;
      const highWl = 64 / 4;
      if (wavelen < highWl) return f;
      if (wavelen > lowWl) return f / 8;
      const smooth = (64 / wavelen - 1) / (4 - 1);
      return (1 - smooth) * (f / 8) + smooth * f;
    };
    const config = { model_type: 'qwen3', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 6, vocab_size: 40, rms_norm_eps: 1e-6, rope_theta: 500, rope_scaling: rope, tie_word_embeddings: false, hidden_act: 'silu' };
    await check(config, { ...base, window: null, scale: llama3 }, { bias: true, qkNorm: true }, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 38, 4, 6]);
  });

  it('Mistral-style: sliding window and linear rope_scaling', async () => {
    const config = { model_type: 'mistral', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 6, vocab_size: 40, rms_norm_eps: 1e-6, rope_theta: 500, rope_scaling: { type: 'linear', factor: 2 }, sliding_window: 3, tie_word_embeddings: false };
    await check(config, { ...base, window: 3, scale: (f) => f / 2 }, { bias: false, qkNorm: false }, [7, 7, 1, 30, 2, 2, 9, 11]);
  });
});
