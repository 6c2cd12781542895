/**
 * The native deviceTensors' argument checks, which every build answers the same way (they run
 * before the backend is looked at), and its answer to a valid call: a handle where a device is
 * there, NO_BACKEND in a build without CUDA, NO_DEVICE without a GPU. The steps' numbers are
 * tested on a GPU (test/gpu/forward-ops-gpu.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import type { DeviceTensors } from '../../src/native/types.js';

const native = loadNative();
const steps = native.deviceTensors;

async function rejects(step: keyof DeviceTensors, params: unknown, code: string, message: RegExp): Promise<void> {
  const call = steps[step] as (p: unknown) => Promise<unknown>;
  await assert.rejects(call(params), (err: unknown) => {
    assert.ok(err instanceof EsmmError, `not an EsmmError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('native deviceTensors: argument checks', () => {
  it('wants a params object, Float32Array data and handles that are positive integers', async () => {
    await rejects('upload', undefined, 'USAGE', /^deviceTensors\.upload expects a params object$/);
    await rejects('upload', { data: [1, 2] }, 'USAGE', /^params\.data must be a Float32Array$/);
    await rejects('upload', { data: new Float32Array(0) }, 'SHAPE', /^params\.data is empty/);
    await rejects('upload', { data: new Float32Array(1), device: -1 }, 'USAGE', /^params\.device = -1 must be an integer/);
    await rejects('download', { x: 0 }, 'USAGE', /^params\.x must be a device tensor handle/);
    await rejects('download', { x: 1.5 }, 'USAGE', /^params\.x must be a device tensor handle/);
    await rejects('free', { tensors: 3 }, 'USAGE', /^params\.tensors must be an array/);
    await rejects('free', { tensors: [1, 'a'] }, 'USAGE', /^params\.tensors\[1\] must be a device tensor handle/);
  });

  it('checks dimensions, layouts, activations and the attention head layout', async () => {
    await rejects('embed', { table: 1, tokens: [], hidden: 4 }, 'SHAPE', /^params\.tokens is empty$/);
    await rejects('embed', { table: 1, tokens: [1, -2], hidden: 4 }, 'USAGE', /^params\.tokens\[1\] must be a non-negative integer token id$/);
    await rejects('linear', { x: 1, weight: 2, rows: 2, k: 3, n: 4, layout: 'row' }, 'USAGE', /^params\.layout must be 'out-in' or 'in-out', got 'row'$/);
    await rejects('linear', { x: 1, weight: 2, rows: 65536, k: 65536, n: 4, layout: 'out-in' }, 'SHAPE', /^x would hold 4294967296 elements, over cuBLAS's limit/);
    await rejects('rmsNorm', { x: 1, weight: 2, rows: 0, cols: 3, eps: 1e-6 }, 'SHAPE', /^params\.rows = 0 must be an integer in \[1, 2147483647\]$/);
    await rejects('rmsNorm', { x: 1, weight: 2, rows: 1, cols: 3, eps: -1 }, 'USAGE', /^params\.eps must be a finite non-negative number$/);
    await rejects('layerNorm', { x: 1, weight: 2, rows: 1, cols: 3, eps: 1e-5 }, 'USAGE', /^params\.bias must be a device tensor handle/);
    await rejects('rope', { x: 1, invFreq: 2, tokens: 3, heads: 2, headDim: 5 }, 'SHAPE', /^params\.headDim = 5 must be even for RoPE$/);
    await rejects('attention', { q: 1, k: 2, v: 3, tokens: 4, heads: 6, kvHeads: 4, headDim: 8, scale: 1 }, 'SHAPE', /^params\.heads = 6 is not a multiple of params\.kvHeads = 4$/);
    await rejects('attention', { q: 1, k: 2, v: 3, tokens: 4, heads: 4, kvHeads: 4, headDim: 8, scale: Infinity }, 'USAGE', /^params\.scale must be a finite number$/);
    await rejects('activation', { x: 1, act: 'mish' }, 'USAGE', /^params\.act: activation "mish" is not reproduced \(supported: silu, swish, relu, gelu, gelu_new, gelu_pytorch_tanh\)$/);
    await rejects('gatedActivation', { gate: 1, act: 'silu' }, 'USAGE', /^params\.up must be a device tensor handle/);
    await rejects('sliceColumns', { x: 1, rows: 2, cols: 6, start: 4, width: 3 }, 'SHAPE', /^columns \[4, 7\) are not within the 6 columns of x$/);
  });
});

describe('native deviceTensors: a valid call', () => {
  const info = native.info();
  const usable = hasCuda(native);
  it(usable ? 'uploads, downloads and frees; a freed handle is unknown' : 'rejects with the reason it cannot run', async () => {
    const data = Float32Array.from([1, 2, 3]);
    if (usable) {
      const x = await steps.upload({ data });
      assert.deepEqual(await steps.download({ x }), data);
      await steps.free({ tensors: [x, x] });
      await rejects('download', { x }, 'USAGE', new RegExp(`^params\\.x: no device tensor ${x} \\(freed`));
    } else if (!info.backends.includes('cuda')) {
      await rejects('upload', { data }, 'NO_BACKEND', /device tensors need the CUDA backend/);
    } else {
      await rejects('upload', { data }, 'NO_DEVICE', /no CUDA device/);
    }
  });
});
