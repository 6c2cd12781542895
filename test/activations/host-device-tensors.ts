import { activation, addBias, addInPlace, causalAttention, layerNorm, rmsNorm } from '../../src/activations/forward-ops.js';
import { matmulCpu } from '../../src/activations/matmul-cpu.js';
import { applyRope } from '../../src/activations/rope-frequencies.js';
import { EsmmError } from '../../src/errors.js';
import type { DeviceTensor, DeviceTensors } from '../../src/native/types.js';

export interface HostDeviceTensors extends DeviceTensors {
  /** Every call by step name, in order. */
  calls: string[];
  /** The handles not freed. */
  live(): DeviceTensor[];
  /** Makes the named step reject with err from its next call on. */
  failOn(step: keyof DeviceTensors, err: Error): void;
}

/**
 * The addon's DeviceTensors emulated in host memory with the CPU path's own steps (forward-ops.ts,
 * matmulCpu), under the same contract: handles never reused, shapes checked against element
 * counts, USAGE for an unknown handle. A device forward pass run on it must give the CPU forward
 * pass's numbers exactly, so the CPU suite tests the device passes' order of steps, hooks and
 * freeing without a GPU; test/gpu/ runs the real kernels.
 */
export function hostDeviceTensors(): HostDeviceTensors {
  const store = new Map<DeviceTensor, Float32Array>();
  const calls: string[] = [];
  const failures = new Map<string, Error>();
  let next = 1;
  const keep = (data: Float32Array): DeviceTensor => {
    store.set(next, data);
    return next++;
  };
  const get = (x: DeviceTensor, what: string, count?: number): Float32Array => {
    const data = store.get(x);
    if (!data) throw new EsmmError('USAGE', `params.${what}: no device tensor ${x}`);
    if (count !== undefined && data.length !== count) throw new EsmmError('SHAPE', `params.${what} holds ${data.length} elements; needs ${count}`);
    return data;
  };
  const step =
    <P, R>(name: keyof DeviceTensors, fn: (p: P) => R | Promise<R>) =>
    async (p: P): Promise<R> => {
      calls.push(name);
      const err = failures.get(name);
      if (err) throw err;
      return fn(p);
    };
  return {
    calls,
    live: () => [...store.keys()],
    failOn: (name, err) => void failures.set(name, err),
    upload: step('upload', ({ data }) => keep(data.slice())),
    download: step('download', ({ x }) => get(x, 'x').slice()),
    free: step('free', ({ tensors }) => {
      for (const x of tensors) store.delete(x);
    }),
    embed: step('embed', ({ table, tokens, hidden, positions }) => {
      const t = get(table, 'table');
      const pos = positions !== undefined ? get(positions, 'positions') : undefined;
      const out = new Float32Array(tokens.length * hidden);
      tokens.forEach((id, i) => {
        for (let c = 0; c < hidden; c++) out[i * hidden + c] = t[id * hidden + c] + (pos ? pos[i * hidden + c] : 0);
      });
      return keep(out);
    }),
    linear: step('linear', async ({ x, rows, k, weight, n, layout, bias }) => {
      const y = await matmulCpu({ x: get(x, 'x', rows * k), m: rows, k, w: get(weight, 'weight', k * n), n, layout });
      addBias(y, n, bias !== undefined ? get(bias, 'bias', n) : undefined);
      return keep(y);
    }),
    rmsNorm: step('rmsNorm', ({ x, rows, cols, weight, eps }) => keep(rmsNorm(get(x, 'x', rows * cols), rows, cols, get(weight, 'weight', cols), eps))),
    layerNorm: step('layerNorm', ({ x, rows, cols, weight, bias, eps }) =>
      keep(layerNorm(get(x, 'x', rows * cols), rows, cols, get(weight, 'weight', cols), get(bias, 'bias', cols), eps)),
    ),
    rope: step('rope', ({ x, tokens, heads, headDim, invFreq }) => {
      applyRope(get(x, 'x', tokens * heads * headDim), tokens, heads, headDim, get(invFreq, 'invFreq', headDim / 2));
    }),
    attention: step('attention', ({ q, k, v, tokens, heads, kvHeads, headDim, scale, window }) =>
      keep(
        causalAttention({
          q: get(q, 'q', tokens * heads * headDim),
          k: get(k, 'k', tokens * kvHeads * headDim),
          v: get(v, 'v', tokens * kvHeads * headDim),
          tokens,
          heads,
          kvHeads,
          headDim,
          scale,
          window: window ?? null,
        }),
      ),
    ),
    activation: step('activation', ({ x, act }) => {
      const data = get(x, 'x');
      const f = activation(act);
      for (let i = 0; i < data.length; i++) data[i] = f(data[i]);
    }),
    gatedActivation: step('gatedActivation', ({ gate, up, act }) => {
      const g = get(gate, 'gate');
      const u = get(up, 'up', g.length);
      const f = activation(act);
      return keep(Float32Array.from(g, (v, i) => Math.fround(f(v)) * u[i]));
    }),
    add: step('add', ({ x, y }) => {
      const data = get(x, 'x');
      addInPlace(data, get(y, 'y', data.length));
    }),
    sliceColumns: step('sliceColumns', ({ x, rows, cols, start, width }) => {
      const data = get(x, 'x', rows * cols);
      const out = new Float32Array(rows * width);
      for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols + start, r * cols + start + width), r * width);
      return keep(out);
    }),
  };
}
