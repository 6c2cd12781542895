import { BadFileError } from '../errors.js';
import type { DeviceActivation, DeviceTensor } from '../native/types.js';
import { checkTokenIds } from './check-token-ids.js';
import { deviceLinear } from './device-linear.js';
import { withDeviceScope } from './device-scope.js';
import { needWeight } from './find-weight.js';
import { activation } from './forward-ops.js';
import type { ForwardDevice, ForwardParams, Gpt2Config } from './types.js';

/**
 * gpt2Forward on a GPU: the same steps, as device kernels on tensors that stay on the device
 * (DeviceTensors). Each weight goes up when its step needs it and is freed after; only the inputs
 * onLinearInput asks for and the logits come back.
 */
export async function gpt2ForwardDevice(p: ForwardParams & { config: Gpt2Config; device: ForwardDevice }): Promise<Float32Array> {
  const { config: c, weights, tokens } = p;
  const t = tokens.length;
  const h = c.hidden;
  if (t > c.positions) throw new BadFileError('tokens', `${t} tokens exceed the model's ${c.positions} positions`, 'USAGE');
  const need = (name: string) => needWeight(weights, 'transformer.', name);
  const wte = need('transformer.wte.weight');
  const wpe = need('transformer.wpe.weight');
  checkTokenIds(tokens, wte.shape[0]);
  // Refuses an activation the forward pass does not reproduce, as the CPU path does.
  activation(c.activation);
  const act = c.activation as DeviceActivation;
  const d = h / c.heads;

  return withDeviceScope(p.device, async (dev) => {
    const linear = deviceLinear(dev, p.onLinearInput, t);
    const conv1d = (module: string, x: DeviceTensor): Promise<DeviceTensor> => {
      const w = need(`${module}.weight`);
      return linear(module, x, w.shape[0], w, 'in-out', need(`${module}.bias`));
    };
    const norm = async (x: DeviceTensor, name: string): Promise<DeviceTensor> => {
      const weight = await dev.upload(need(`${name}.weight`).data);
      const bias = await dev.upload(need(`${name}.bias`).data);
      const y = await dev.make('layerNorm', { x, rows: t, cols: h, weight, bias, eps: c.lnEps });
      await dev.free(weight, bias);
      return y;
    };

    const table = await dev.upload(wte.data);
    const positions = await dev.upload(wpe.data);
    const x = await dev.make('embed', { table, tokens, hidden: h, positions });
    await dev.free(table, positions);

    for (let l = 0; l < c.layers; l++) {
      const pre = `transformer.h.${l}`;
      const ln1 = await norm(x, `${pre}.ln_1`);
      const qkv = await conv1d(`${pre}.attn.c_attn`, ln1);
      await dev.free(ln1);
      const part = (start: number) => dev.make('sliceColumns', { x: qkv, rows: t, cols: 3 * h, start, width: h });
      const q = await part(0);
      const k = await part(h);
      const v = await part(2 * h);
      await dev.free(qkv);
      let scale = c.scaleAttnWeights ? 1 / Math.sqrt(d) : 1;
      if (c.scaleByInverseLayerIdx) scale /= l + 1;
      const attn = await dev.make('attention', { q, k, v, tokens: t, heads: c.heads, kvHeads: c.heads, headDim: d, scale });
      await dev.free(q, k, v);
      const o = await conv1d(`${pre}.attn.c_proj`, attn);
      await dev.free(attn);
      await dev.steps.add({ x, y: o });
      await dev.free(o);

      const ln2 = await norm(x, `${pre}.ln_2`);
      const fc = await conv1d(`${pre}.mlp.c_fc`, ln2);
      await dev.free(ln2);
      await dev.steps.activation({ x: fc, act });
      const mo = await conv1d(`${pre}.mlp.c_proj`, fc);
      await dev.free(fc);
      await dev.steps.add({ x, y: mo });
      await dev.free(mo);
    }

    const final = await norm(x, 'transformer.ln_f');
    await dev.free(x);
    const logits = await linear('lm_head', final, h, weights.get('lm_head.weight') ?? wte, 'out-in');
    return dev.download(logits);
  });
}
