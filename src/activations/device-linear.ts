import type { DeviceTensor } from '../native/types.js';
import type { DeviceScope } from './device-scope.js';
import type { LinearInputHook, Tensor } from './types.js';

/**
 * The linear layers of a forward pass on the device. With a hook, each input is downloaded for it
 * once however many layers in a row read it (q, k and v), and what the hook returns goes up in its
 * place; the weight and bias go up for the product and are freed after it.
 */
export function deviceLinear(
  dev: DeviceScope,
  hook: LinearInputHook | undefined,
  rows: number,
): (module: string, x: DeviceTensor, k: number, w: Tensor, layout: 'out-in' | 'in-out', bias?: Tensor) => Promise<DeviceTensor> {
  let last: { x: DeviceTensor; host: Float32Array } | undefined;
  return async (module, x, k, w, layout, bias) => {
    let input = x;
    if (hook) {
      if (last?.x !== x) last = { x, host: await dev.download(x) };
      const replaced = hook(module, last.host, rows, k);
      if (replaced) input = await dev.upload(replaced);
    }
    const weight = await dev.upload(w.data);
    const b = bias ? await dev.upload(bias.data) : undefined;
    const n = layout === 'out-in' ? w.shape[0] : w.shape[1];
    const y = await dev.make('linear', { x: input, rows, k, weight, n, layout, ...(b !== undefined ? { bias: b } : {}) });
    await dev.free(weight, b, input !== x ? input : undefined);
    return y;
  };
}
