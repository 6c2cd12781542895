import { BadFileError } from '../errors.js';
import { checkTokenIds } from './check-token-ids.js';
import { needWeight } from './find-weight.js';
import { activation, addBias, addInPlace, causalAttention, layerNorm } from './forward-ops.js';
import { matmulCpu } from './matmul-cpu.js';
import type { Checkpoint, ForwardParams, Gpt2Config, Tensor } from './types.js';

/** A weight by its transformers name; the original GPT-2 checkpoints drop the `transformer.` prefix. */
const need = (weights: Checkpoint, name: string): Tensor => needWeight(weights, 'transformer.', name);

/**
 * The float32 forward pass of GPT-2 (transformers' GPT2LMHeadModel): learned positions,
 * pre-LayerNorm blocks, Conv1D projections whose weights are stored [in, out], causal
 * attention, and the LM head tied to the token embedding. Returns the logits [tokens, vocab].
 */
export async function gpt2Forward(p: ForwardParams & { config: Gpt2Config }): Promise<Float32Array> {
  const { config: c, weights, tokens } = p;
  const matmul = p.matmul ?? matmulCpu;
  const t = tokens.length;
  const h = c.hidden;
  if (t > c.positions) throw new BadFileError('tokens', `${t} tokens exceed the model's ${c.positions} positions`, 'USAGE');
  const conv1d = async (module: string, x: Float32Array): Promise<Float32Array> => {
    const w = need(weights, `${module}.weight`);
    const [k, n] = w.shape;
    const input = p.onLinearInput?.(module, x, t, k) ?? x;
    const y = await matmul({ x: input, m: t, k, w: w.data, n, layout: 'in-out' });
    addBias(y, n, need(weights, `${module}.bias`).data);
    return y;
  };
  const norm = (x: Float32Array, name: string): Float32Array =>
    layerNorm(x, t, h, need(weights, `${name}.weight`).data, need(weights, `${name}.bias`).data, c.lnEps);

  const wte = need(weights, 'transformer.wte.weight');
  const wpe = need(weights, 'transformer.wpe.weight');
  const x = new Float32Array(t * h);
  checkTokenIds(tokens, wte.shape[0]);
  for (let i = 0; i < t; i++) {
    for (let j = 0; j < h; j++) x[i * h + j] = wte.data[tokens[i] * h + j] + wpe.data[i * h + j];
  }
  const act = activation(c.activation);
  const d = h / c.heads;

  for (let l = 0; l < c.layers; l++) {
    const pre = `transformer.h.${l}`;
    const qkv = await conv1d(`${pre}.attn.c_attn`, norm(x, `${pre}.ln_1`));
    const q = new Float32Array(t * h);
    const k = new Float32Array(t * h);
    const v = new Float32Array(t * h);
    for (let i = 0; i < t; i++) {
      q.set(qkv.subarray(i * 3 * h, i * 3 * h + h), i * h);
      k.set(qkv.subarray(i * 3 * h + h, i * 3 * h + 2 * h), i * h);
      v.set(qkv.subarray(i * 3 * h + 2 * h, i * 3 * h + 3 * h), i * h);
    }
    let scale = c.scaleAttnWeights ? 1 / Math.sqrt(d) : 1;
    if (c.scaleByInverseLayerIdx) scale /= l + 1;
    const attn = causalAttention({ q, k, v, tokens: t, heads: c.heads, kvHeads: c.heads, headDim: d, scale });
    addInPlace(x, await conv1d(`${pre}.attn.c_proj`, attn));

    const fc = await conv1d(`${pre}.mlp.c_fc`, norm(x, `${pre}.ln_2`));
    for (let i = 0; i < fc.length; i++) fc[i] = act(fc[i]);
    addInPlace(x, await conv1d(`${pre}.mlp.c_proj`, fc));
  }

  const final = norm(x, 'transformer.ln_f');
  const head = weights.get('lm_head.weight') ?? wte;
  const input = p.onLinearInput?.('lm_head', final, t, h) ?? final;
  return matmul({ x: input, m: t, k: h, w: head.data, n: head.shape[0], layout: 'out-in' });
}
