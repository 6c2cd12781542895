/**
 * `capture --backend`: which backend each choice resolves to, and that the cuda path sends every
 * projection (the lm_head too) through the addon's gemm with the right layout. A fake addon
 * stands in for the GPU here; test/gpu/capture-gpu.test.ts runs the real one.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { matmulCpu } from '../../src/activations/matmul-cpu.js';
import { matmulCuda } from '../../src/activations/matmul-cuda.js';
import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { resolveCaptureBackend } from '../../src/activations/resolve-capture-backend.js';
import { captureCommand } from '../../src/commands/capture.js';
import { EsmmError } from '../../src/errors.js';
import type { GemmParams, NativeBinding, NativeInfo } from '../../src/native/types.js';
import { tempDir } from '../helpers.js';
import { writeTinyGpt2 } from './fixtures.js';

/** A fake addon: `cuda` built or not, `devices` seen, cuBLAS linked or not; gemm computed on the CPU and recorded. */
function fakeNative(o: { cuda: boolean; devices: number; cublas: boolean }): NativeBinding & { gemmCalls: Omit<GemmParams, 'a' | 'b'>[] } {
  const gemmCalls: Omit<GemmParams, 'a' | 'b'>[] = [];
  const info: NativeInfo = {
    addonVersion: '0.0.0',
    registry: [],
    backends: o.cuda ? ['cpu', 'cuda'] : ['cpu'],
    kernels: { cpu: ['reference', 'esmm'] },
    cpuThreads: 1,
    ...(o.cublas ? { cublas: { version: '13.0.0' } } : {}),
  };
  return {
    gemmCalls,
    info: () => info,
    devices: () =>
      Array.from({ length: o.devices }, (_, index) => ({ index, name: 'fake', computeCapability: '9.0', smCount: 1, totalMemoryBytes: 1, l2CacheBytes: 1 })),
    computePatterns: () => Promise.reject(new Error('unused')),
    benchmark: () => Promise.reject(new Error('unused')),
    gemm: async ({ a, b, m, k, n, transB, device }) => {
      gemmCalls.push({ m, k, n, ...(transB !== undefined ? { transB } : {}), ...(device !== undefined ? { device } : {}) });
      return matmulCpu({ x: a, m, k, w: b, n, layout: transB ? 'out-in' : 'in-out' });
    },
  };
}

describe('capture: resolving --backend', () => {
  const never = (): NativeBinding => {
    throw new Error('the addon must not be loaded');
  };
  const unloadable = (): NativeBinding => {
    throw new EsmmError('NO_BACKEND', 'native addon: not built');
  };

  it('cpu never loads the addon', () => {
    assert.deepEqual(resolveCaptureBackend('cpu', never), { backend: 'cpu' });
  });

  it('auto picks cuda only with a device and cuBLAS, cpu otherwise', () => {
    assert.equal(resolveCaptureBackend('auto', unloadable).backend, 'cpu');
    assert.equal(resolveCaptureBackend('auto', () => fakeNative({ cuda: false, devices: 0, cublas: false })).backend, 'cpu');
    assert.equal(resolveCaptureBackend('auto', () => fakeNative({ cuda: true, devices: 0, cublas: true })).backend, 'cpu');
    assert.equal(resolveCaptureBackend('auto', () => fakeNative({ cuda: true, devices: 1, cublas: false })).backend, 'cpu');
    const native = fakeNative({ cuda: true, devices: 1, cublas: true });
    const got = resolveCaptureBackend('auto', () => native);
    assert.equal(got.backend, 'cuda');
    assert.equal(got.native, native);
  });

  it('cuda fails, with the reason, when the addon, a device or cuBLAS is missing', () => {
    assert.throws(() => resolveCaptureBackend('cuda', unloadable), { code: 'NO_BACKEND', message: /not built/ });
    assert.throws(() => resolveCaptureBackend('cuda', () => fakeNative({ cuda: true, devices: 0, cublas: true })), {
      code: 'USAGE',
      message: /--backend cuda: no CUDA device is usable/,
    });
    assert.throws(() => resolveCaptureBackend('cuda', () => fakeNative({ cuda: true, devices: 1, cublas: false })), {
      code: 'NO_BACKEND',
      message: /--backend cuda: capture multiplies with cuBLAS, and this addon was built without it/,
    });
    assert.equal(resolveCaptureBackend('cuda', () => fakeNative({ cuda: true, devices: 1, cublas: true })).backend, 'cuda');
  });
});

describe('capture: the cuda path', () => {
  it('matmulCuda sends nn.Linear weights transposed and Conv1D weights as they are', async () => {
    const native = fakeNative({ cuda: true, devices: 1, cublas: true });
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]); // 2×3
    const wOutIn = Float32Array.from([1, 0, 0, 0, 1, 1]); // [2 out, 3 in]
    assert.deepEqual([...(await matmulCuda(native)({ x, m: 2, k: 3, w: wOutIn, n: 2, layout: 'out-in' }))], [1, 5, 4, 11]);
    const wInOut = Float32Array.from([1, 0, 0, 1, 0, 1]); // [3 in, 2 out]
    assert.deepEqual([...(await matmulCuda(native, 1)({ x, m: 2, k: 3, w: wInOut, n: 2, layout: 'in-out' }))], [1, 5, 4, 11]);
    assert.deepEqual(native.gemmCalls, [
      { m: 2, k: 3, n: 2, transB: true },
      { m: 2, k: 3, n: 2, transB: false, device: 1 },
    ]);
  });

  it('every projection, the lm_head too, goes through gemm; the dump records the backend', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = await writeTinyGpt2(dir);
      const tokens = [3, 17, 42, 0, 9];
      const native = fakeNative({ cuda: true, devices: 1, cublas: true });
      const lines: string[] = [];
      const out = join(dir, 'gpu.safetensors');
      const res = await captureCommand(dir, { tokens: tokens.join(','), out, json: true, backend: 'cuda' }, (l) => lines.push(l), (req) =>
        resolveCaptureBackend(req, () => native),
      );
      assert.equal(res.backend, 'cuda');
      assert.equal((JSON.parse(lines[0]) as { backend: string }).backend, 'cuda');
      // GPT-2: c_attn, c_proj, c_fc, c_proj per layer ([in, out], no transpose), then the tied lm_head ([vocab, in]).
      const c = model.config.n_embd;
      const perLayer = [
        { m: 5, k: c, n: 3 * c, transB: false },
        { m: 5, k: c, n: c, transB: false },
        { m: 5, k: c, n: 4 * c, transB: false },
        { m: 5, k: 4 * c, n: c, transB: false },
      ];
      assert.deepEqual(native.gemmCalls, [...perLayer, ...perLayer, { m: 5, k: c, n: model.config.vocab_size, transB: true }]);
      const gpu = await readActivationDump(out);
      assert.equal(gpu.metadata.capture_backend, 'cuda');

      const cpuOut = join(dir, 'cpu.safetensors');
      await captureCommand(dir, { tokens: tokens.join(','), out: cpuOut, backend: 'cpu' }, () => {});
      const cpu = await readActivationDump(cpuOut);
      assert.equal(cpu.metadata.capture_backend, 'cpu');
      assert.deepEqual([...gpu.logits!.data], [...cpu.logits!.data]);
    } finally {
      cleanup();
    }
  });

  it('refuses an unknown --backend as a usage error', async () => {
    await assert.rejects(captureCommand('.', { tokens: '1', backend: 'tpu' }, () => {}), { code: 'USAGE', message: /^capture: / });
  });
});
