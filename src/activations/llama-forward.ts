import { checkTokenIds } from './check-token-ids.js';
import { findWeight, needWeight } from './find-weight.js';
import { activation, addBias, addInPlace, causalAttention, rmsNorm } from './forward-ops.js';
import { matmulCpu } from './matmul-cpu.js';
import { applyRope, ropeFrequencies } from './rope-frequencies.js';
import type { Checkpoint, ForwardParams, LlamaConfig, Tensor } from './types.js';

const lookup = (weights: Checkpoint, name: string): Tensor | undefined => findWeight(weights, name, 'model.');
const need = (weights: Checkpoint, name: string, ...fallbacks: string[]): Tensor => needWeight(weights, 'model.', name, ...fallbacks);

/**
 * The float32 forward pass of a Llama-family decoder (transformers' LlamaForCausalLM: RMSNorm,
 * RoPE, grouped-query causal attention, SiLU-gated MLP; Qwen2 q/k/v biases and Qwen3 q/k norms
 * when the checkpoint has them). Returns the logits [tokens, vocab].
 */
export async function llamaForward(p: ForwardParams & { config: LlamaConfig }): Promise<Float32Array> {
  const { config: c, weights, tokens } = p;
  const matmul = p.matmul ?? matmulCpu;
  const t = tokens.length;
  const embed = need(weights, 'model.embed_tokens.weight', ...(c.tieEmbeddings ? ['lm_head.weight'] : []));
  const linear = async (module: string, x: Float32Array, k: number): Promise<Float32Array> => {
    const w = need(weights, `${module}.weight`);
    const input = p.onLinearInput?.(module, x, t, k) ?? x;
    const n = w.shape[0];
    const y = await matmul({ x: input, m: t, k, w: w.data, n, layout: 'out-in' });
    addBias(y, n, lookup(weights, `${module}.bias`)?.data);
    return y;
  };

  const h = c.hidden;
  const d = c.headDim;
  const x = new Float32Array(t * h);
  checkTokenIds(tokens, embed.shape[0]);
  for (let i = 0; i < t; i++) x.set(embed.data.subarray(tokens[i] * h, tokens[i] * h + h), i * h);
  const invFreq = ropeFrequencies(c);
  const act = activation(c.hiddenAct);

  for (let l = 0; l < c.layers; l++) {
    const pre = `model.layers.${l}`;
    const hn = rmsNorm(x, t, h, need(weights, `${pre}.input_layernorm.weight`).data, c.rmsEps);
    const q = await linear(`${pre}.self_attn.q_proj`, hn, h);
    const k = await linear(`${pre}.self_attn.k_proj`, hn, h);
    const v = await linear(`${pre}.self_attn.v_proj`, hn, h);
    const qNorm = lookup(weights, `${pre}.self_attn.q_norm.weight`);
    const kNorm = lookup(weights, `${pre}.self_attn.k_norm.weight`);
    const qn = qNorm ? rmsNorm(q, t * c.heads, d, qNorm.data, c.rmsEps) : q;
    const kn = kNorm ? rmsNorm(k, t * c.kvHeads, d, kNorm.data, c.rmsEps) : k;
    applyRope(qn, t, c.heads, d, invFreq);
    applyRope(kn, t, c.kvHeads, d, invFreq);
    const attn = causalAttention({ q: qn, k: kn, v, tokens: t, heads: c.heads, kvHeads: c.kvHeads, headDim: d, scale: 1 / Math.sqrt(d), window: c.slidingWindow });
    addInPlace(x, await linear(`${pre}.self_attn.o_proj`, attn, c.heads * d));

    const pn = rmsNorm(x, t, h, need(weights, `${pre}.post_attention_layernorm.weight`).data, c.rmsEps);
    const gate = await linear(`${pre}.mlp.gate_proj`, pn, h);
    const up = await linear(`${pre}.mlp.up_proj`, pn, h);
    const f = c.intermediate;
    const mid = new Float32Array(t * f);
    // transformers rounds act(gate) to float32 before the product with up.
    for (let i = 0; i < mid.length; i++) mid[i] = Math.fround(act(gate[i])) * up[i];
    addInPlace(x, await linear(`${pre}.mlp.down_proj`, mid, f));
  }

  const final = rmsNorm(x, t, h, need(weights, 'model.norm.weight').data, c.rmsEps);
  const head = need(weights, 'lm_head.weight', ...(c.tieEmbeddings ? ['model.embed_tokens.weight'] : []));
  const input = p.onLinearInput?.('lm_head', final, t, h) ?? final;
  return matmul({ x: input, m: t, k: h, w: head.data, n: head.shape[0], layout: 'out-in' });
}
