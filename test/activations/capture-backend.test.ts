/**
 * `capture --backend`: which backend each choice resolves to, and that the cuda path runs the
 * whole forward pass through the addon's deviceTensors. A fake addon, whose device tensors are a
 * host emulation, stands in for the GPU here; test/gpu/capture-gpu.test.ts runs the real one.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { resolveCaptureBackend } from '../../src/activations/resolve-capture-backend.js';
import { captureCommand } from '../../src/commands/capture.js';
import { sparsifyCommand } from '../../src/commands/sparsify.js';
import { EsmmError } from '../../src/errors.js';
import type { NativeBinding, NativeInfo } from '../../src/native/types.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { writeTinyGpt2 } from './fixtures.js';
import { hostDeviceTensors, type HostDeviceTensors } from './host-device-tensors.js';

/** A fake addon: `cuda` built or not, `devices` seen, cuBLAS linked or not; its device tensors live in host memory. */
function fakeNative(o: { cuda: boolean; devices: number; cublas: boolean }): NativeBinding & { deviceTensors: HostDeviceTensors } {
  const info: NativeInfo = {
    addonVersion: '0.0.0',
    registry: [],
    backends: o.cuda ? ['cpu', 'cuda'] : ['cpu'],
    kernels: { cpu: ['reference', 'esmm'] },
    cpuThreads: 1,
    ...(o.cublas ? { cublas: { version: '13.0.0' } } : {}),
  };
  return {
    info: () => info,
    devices: () =>
      Array.from({ length: o.devices }, (_, index) => ({ index, name: 'fake', computeCapability: '9.0', smCount: 1, totalMemoryBytes: 1, l2CacheBytes: 1 })),
    computePatterns: () => Promise.reject(new Error('unused')),
    benchmark: () => Promise.reject(new Error('unused')),
    gemm: () => Promise.reject(new Error('capture never calls gemm')),
    deviceTensors: hostDeviceTensors(),
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
  async function captureBoth(dir: string, tokens: number[]) {
    const native = fakeNative({ cuda: true, devices: 1, cublas: true });
    const lines: string[] = [];
    const out = join(dir, 'gpu.safetensors');
    const res = await captureCommand(dir, { tokens: tokens.join(','), out, json: true, backend: 'cuda' }, (l) => lines.push(l), (req) =>
      resolveCaptureBackend(req, () => native),
    );
    const cpuOut = join(dir, 'cpu.safetensors');
    await captureCommand(dir, { tokens: tokens.join(','), out: cpuOut, backend: 'cpu' }, () => {});
    return { native, res, printed: JSON.parse(lines[0]) as { backend: string }, gpu: await readActivationDump(out), cpu: await readActivationDump(cpuOut) };
  }

  it('GPT-2: the whole forward pass on the device, the same dump as the CPU path, each input downloaded once, nothing left', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await writeTinyGpt2(dir);
      const { native, res, printed, gpu, cpu } = await captureBoth(dir, [3, 17, 42, 0, 9]);
      assert.equal(res.backend, 'cuda');
      assert.equal(printed.backend, 'cuda');
      assert.equal(gpu.metadata.capture_backend, 'cuda');
      assert.equal(cpu.metadata.capture_backend, 'cpu');
      assert.deepEqual([...gpu.inputs.keys()], [...cpu.inputs.keys()]);
      for (const [module, t] of cpu.inputs) assert.deepEqual(gpu.inputs.get(module), t, `input.${module}`);
      assert.deepEqual(gpu.logits, cpu.logits);
      const calls = native.deviceTensors.calls;
      // c_attn, c_proj, c_fc, c_proj per layer, then the tied lm_head; one download per linear input, then the logits.
      assert.equal(calls.filter((c) => c === 'linear').length, 2 * 4 + 1);
      assert.equal(calls.filter((c) => c === 'download').length, 2 * 4 + 1 + 1);
      assert.deepEqual(native.deviceTensors.live(), []);
    } finally {
      cleanup();
    }
  });

  it('tinystories-656k (Llama, GQA): the same dump as the CPU path; q/k/v and gate/up inputs downloaded once each', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = join(SHARED_WEIGHTS, 'tinystories-656k');
      const tokens = [1, 432, 77, 1203, 9, 15, 600, 1999];
      const native = fakeNative({ cuda: true, devices: 1, cublas: true });
      await captureCommand(model, { tokens: tokens.join(','), out: join(dir, 'gpu.safetensors'), backend: 'cuda' }, () => {}, (req) => resolveCaptureBackend(req, () => native));
      await captureCommand(model, { tokens: tokens.join(','), out: join(dir, 'cpu.safetensors'), backend: 'cpu' }, () => {});
      const gpu = await readActivationDump(join(dir, 'gpu.safetensors'));
      const cpu = await readActivationDump(join(dir, 'cpu.safetensors'));
      assert.equal(gpu.inputs.size, 15);
      for (const [module, t] of cpu.inputs) assert.deepEqual(gpu.inputs.get(module), t, `input.${module}`);
      assert.deepEqual(gpu.logits, cpu.logits);
      assert.equal(native.deviceTensors.calls.filter((c) => c === 'download').length, 2 * 4 + 1 + 1);
      assert.deepEqual(native.deviceTensors.live(), []);
    } finally {
      cleanup();
    }
  });

  it('a device step that fails fails the capture with its code, and the device is left empty', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await writeTinyGpt2(dir);
      const native = fakeNative({ cuda: true, devices: 1, cublas: true });
      native.deviceTensors.failOn('attention', new EsmmError('OUT_OF_MEMORY', 'attention: out of device memory'));
      await assert.rejects(
        captureCommand(dir, { tokens: '1,2,3', out: join(dir, 'x.safetensors'), backend: 'cuda' }, () => {}, (req) => resolveCaptureBackend(req, () => native)),
        { code: 'OUT_OF_MEMORY' },
      );
      assert.deepEqual(native.deviceTensors.live(), []);
    } finally {
      cleanup();
    }
  });

  it('refuses an unknown --backend as a usage error', async () => {
    await assert.rejects(captureCommand('.', { tokens: '1', backend: 'tpu' }, () => {}), { code: 'USAGE', message: /^capture: / });
  });
});

describe('sparsify: the cuda path', () => {
  it('runs both forward passes on the device and gives the CPU path\'s thresholds, quality and dump', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await writeTinyGpt2(dir);
      const dense = join(dir, 'dense.safetensors');
      await captureCommand(dir, { tokens: '3,17,42,0,9,5,1,8', out: dense, backend: 'cpu' }, () => {});
      const native = fakeNative({ cuda: true, devices: 1, cublas: true });
      const gpuOut = join(dir, 'gpu.safetensors');
      const cpuOut = join(dir, 'cpu.safetensors');
      const gpu = await sparsifyCommand(dense, { method: 'teal:0.5', model: dir, out: gpuOut, backend: 'cuda' }, () => {}, (req) =>
        resolveCaptureBackend(req, () => native),
      );
      const cpu = await sparsifyCommand(dense, { method: 'teal:0.5', model: dir, out: cpuOut, backend: 'cpu' }, () => {});
      assert.equal(gpu.backend, 'cuda');
      assert.equal(cpu.backend, 'cpu');
      assert.deepEqual(gpu.quality, cpu.quality);
      assert.deepEqual(gpu.modules, cpu.modules);
      const [g, c] = [await readActivationDump(gpuOut), await readActivationDump(cpuOut)];
      for (const [module, t] of c.inputs) assert.deepEqual(g.inputs.get(module), t, `input.${module}`);
      assert.deepEqual(native.deviceTensors.live(), [], 'every device tensor freed');
    } finally {
      cleanup();
    }
  });
});
