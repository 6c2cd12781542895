import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { BadFileError } from '../errors.js';
import type { ModelConfig, RopeScaling } from './types.js';

const LLAMA_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3'];

/** Reads config.json of an HF-layout folder into the forward pass's config; unsupported models are refused. */
export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const file = join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new BadFileError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no config.json in the model folder' : `not valid JSON (${(err as Error).message})`);
  }
  const fail = (why: string): never => {
    throw new BadFileError(file, why, 'UNSUPPORTED');
  };
  const num = (key: string, fallback?: number): number => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`"${key}" is missing or not a number`);
    return v;
  };
  const modelType = typeof raw.model_type === 'string' ? raw.model_type : '';
  if (modelType === 'gpt2') {
    const hidden = num('n_embd');
    return {
      family: 'gpt2',
      modelType,
      hidden,
      inner: typeof raw.n_inner === 'number' ? raw.n_inner : 4 * hidden,
      layers: num('n_layer'),
      heads: num('n_head'),
      vocab: num('vocab_size'),
      positions: num('n_positions'),
      lnEps: num('layer_norm_epsilon', 1e-5),
      activation: typeof raw.activation_function === 'string' ? raw.activation_function : 'gelu_new',
      scaleAttnWeights: raw.scale_attn_weights !== false,
      scaleByInverseLayerIdx: raw.scale_attn_by_inverse_layer_idx === true,
    };
  }
  if (!LLAMA_TYPES.includes(modelType)) {
    return fail(`model_type "${modelType}" has no forward pass here (supported: ${[...LLAMA_TYPES, 'gpt2'].join(', ')})`);
  }
  const hidden = num('hidden_size');
  const heads = num('num_attention_heads');
  const useWindow = modelType === 'mistral' || raw.use_sliding_window === true;
  return {
    family: 'llama',
    modelType,
    hidden,
    intermediate: num('intermediate_size'),
    layers: num('num_hidden_layers'),
    heads,
    kvHeads: num('num_key_value_heads', heads),
    headDim: typeof raw.head_dim === 'number' ? raw.head_dim : hidden / heads,
    vocab: num('vocab_size'),
    rmsEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeScaling: ropeScaling(raw.rope_scaling, fail),
    slidingWindow: useWindow && typeof raw.sliding_window === 'number' ? raw.sliding_window : null,
    hiddenAct: typeof raw.hidden_act === 'string' ? raw.hidden_act : 'silu',
    tieEmbeddings: raw.tie_word_embeddings !== false,
  };
}

function ropeScaling(raw: unknown, fail: (why: string) => never): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== 'object') return fail('"rope_scaling" is not an object');
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const n = (key: string): number => {
    if (typeof r[key] !== 'number') return fail(`rope_scaling.${key} is missing or not a number`);
    return r[key] as number;
  };
  if (type === 'default') return null;
  if (type === 'linear') return { type: 'linear', factor: n('factor') };
  if (type === 'llama3') {
    return {
      type: 'llama3',
      factor: n('factor'),
      lowFreqFactor: n('low_freq_factor'),
      highFreqFactor: n('high_freq_factor'),
      originalMaxPositions: n('original_max_position_embeddings'),
    };
  }
  return fail(`rope_scaling type "${String(type)}" is not reproduced (supported: default, linear, llama3)`);
}
