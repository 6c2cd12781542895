import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { writeSafetensors } from '../../src/activations/write-safetensors.js';

/** A seeded uniform generator in [-scale, scale) (a 32-bit LCG), so fixtures are the same on every machine. */
export function seededRandom(seed: number, scale = 1): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  };
}

export interface TinyGpt2 {
  dir: string;
  config: { n_embd: number; n_head: number; n_layer: number; vocab_size: number; n_positions: number };
  weights: Map<string, { shape: number[]; data: Float32Array }>;
}

/**
 * A random GPT-2 as the original checkpoints store it (no `transformer.` prefix; Conv1D
 * weights [in, out]), written into dir as config.json + model.safetensors.
 */
export async function writeTinyGpt2(dir: string, seed = 7): Promise<TinyGpt2> {
  const config = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 8, n_head: 2, n_layer: 2, vocab_size: 50, n_positions: 16, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };
  const rand = seededRandom(seed, 0.5);
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  const add = (name: string, shape: number[], around = 0): void => {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => around + rand());
    weights.set(name, { shape, data });
  };
  const c = config.n_embd;
  add('wte.weight', [config.vocab_size, c]);
  add('wpe.weight', [config.n_positions, c]);
  for (let l = 0; l < config.n_layer; l++) {
    add(`h.${l}.ln_1.weight`, [c], 1);
    add(`h.${l}.ln_1.bias`, [c]);
    add(`h.${l}.attn.c_attn.weight`, [c, 3 * c]);
    add(`h.${l}.attn.c_attn.bias`, [3 * c]);
    add(`h.${l}.attn.c_proj.weight`, [c, c]);
    add(`h.${l}.attn.c_proj.bias`, [c]);
    add(`h.${l}.ln_2.weight`, [c], 1);
    add(`h.${l}.ln_2.bias`, [c]);
    add(`h.${l}.mlp.c_fc.weight`, [c, 4 * c]);
    add(`h.${l}.mlp.c_fc.bias`, [4 * c]);
    add(`h.${l}.mlp.c_proj.weight`, [4 * c, c]);
    add(`h.${l}.mlp.c_proj.bias`, [c]);
  }
  add('ln_f.weight', [c], 1);
  add('ln_f.bias', [c]);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  await writeSafetensors(join(dir, 'model.safetensors'), [...weights].map(([name, t]) => ({ name, ...t })), { format: 'pt' });
  return { dir, config, weights };
}
