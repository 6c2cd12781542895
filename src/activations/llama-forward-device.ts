import type { DeviceActivation, DeviceTensor } from '../native/types.js';
import { checkTokenIds } from './check-token-ids.js';
import { deviceLinear } from './device-linear.js';
import { withDeviceScope } from './device-scope.js';
import { findWeight, needWeight } from './find-weight.js';
import { activation } from './forward-ops.js';
import { ropeFrequencies } from './rope-frequencies.js';
import type { ForwardDevice, ForwardParams, LlamaConfig } from './types.js';

/**
 * llamaForward on a GPU: the same steps, as device kernels on tensors that stay on the device
 * (DeviceTensors). Each weight goes up when its step needs it and is freed after; only the inputs
 * onLinearInput asks for and the logits come back.
 */
export async function llamaForwardDevice(p: ForwardParams & { config: LlamaConfig; device: ForwardDevice }): Promise<Float32Array> {
  const { config: c, weights, tokens } = p;
  const t = tokens.length;
  const h = c.hidden;
  const d = c.headDim;
  const need = (name: string, ...fallbacks: string[]) => needWeight(weights, 'model.', name, ...fallbacks);
  const lookup = (name: string) => findWeight(weights, name, 'model.');
  const embed = need('model.embed_tokens.weight', ...(c.tieEmbeddings ? ['lm_head.weight'] : []));
  checkTokenIds(tokens, embed.shape[0]);
  // Refuses an activation the forward pass does not reproduce, as the CPU path does.
  activation(c.hiddenAct);
  const act = c.hiddenAct as DeviceActivation;

  return withDeviceScope(p.device, async (dev) => {
    const linear = deviceLinear(dev, p.onLinearInput, t);
    const proj = (module: string, x: DeviceTensor, k: number) => linear(module, x, k, need(`${module}.weight`), 'out-in', lookup(`${module}.bias`));
    const norm = async (x: DeviceTensor, rows: number, cols: number, name: string): Promise<DeviceTensor> => {
      const weight = await dev.upload(need(name).data);
      const y = await dev.make('rmsNorm', { x, rows, cols, weight, eps: c.rmsEps });
      await dev.free(weight);
      return y;
    };

    const table = await dev.upload(embed.data);
    const x = await dev.make('embed', { table, tokens, hidden: h });
    await dev.free(table);
    const invFreq = await dev.upload(ropeFrequencies(c));

    for (let l = 0; l < c.layers; l++) {
      const pre = `model.layers.${l}`;
      const hn = await norm(x, t, h, `${pre}.input_layernorm.weight`);
      const q = await proj(`${pre}.self_attn.q_proj`, hn, h);
      const k = await proj(`${pre}.self_attn.k_proj`, hn, h);
      const v = await proj(`${pre}.self_attn.v_proj`, hn, h);
      await dev.free(hn);
      const qn = lookup(`${pre}.self_attn.q_norm.weight`) ? await norm(q, t * c.heads, d, `${pre}.self_attn.q_norm.weight`) : q;
      const kn = lookup(`${pre}.self_attn.k_norm.weight`) ? await norm(k, t * c.kvHeads, d, `${pre}.self_attn.k_norm.weight`) : k;
      await dev.free(qn !== q ? q : undefined, kn !== k ? k : undefined);
      await dev.steps.rope({ x: qn, tokens: t, heads: c.heads, headDim: d, invFreq });
      await dev.steps.rope({ x: kn, tokens: t, heads: c.kvHeads, headDim: d, invFreq });
      const attn = await dev.make('attention', {
        q: qn, k: kn, v, tokens: t, heads: c.heads, kvHeads: c.kvHeads, headDim: d, scale: 1 / Math.sqrt(d), window: c.slidingWindow,
      });
      await dev.free(qn, kn, v);
      const o = await proj(`${pre}.self_attn.o_proj`, attn, c.heads * d);
      await dev.free(attn);
      await dev.steps.add({ x, y: o });
      await dev.free(o);

      const pn = await norm(x, t, h, `${pre}.post_attention_layernorm.weight`);
      const gate = await proj(`${pre}.mlp.gate_proj`, pn, h);
      const up = await proj(`${pre}.mlp.up_proj`, pn, h);
      await dev.free(pn);
      const mid = await dev.make('gatedActivation', { gate, up, act });
      await dev.free(gate, up);
      const down = await proj(`${pre}.mlp.down_proj`, mid, c.intermediate);
      await dev.free(mid);
      await dev.steps.add({ x, y: down });
      await dev.free(down);
    }

    const final = await norm(x, t, h, 'model.norm.weight');
    await dev.free(x, invFreq);
    const head = need('lm_head.weight', ...(c.tieEmbeddings ? ['model.embed_tokens.weight'] : []));
    const logits = await linear('lm_head', final, h, head, 'out-in');
    return dev.download(logits);
  });
}
