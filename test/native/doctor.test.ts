import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { doctor, formatDoctor } from '../../src/commands/doctor.js';
import { EsmmError } from '../../src/errors.js';
import { loadNative } from '../../src/native/index.js';
import type { DeviceTensors, NativeBinding } from '../../src/native/types.js';

describe('doctor', () => {
  it('reports the addon, its backends and devices', () => {
    const report = doctor();
    const info = loadNative().info();
    assert.deepEqual(report.addon, info);
    assert.deepEqual(report.devices, loadNative().devices());
    const text = formatDoctor(report);
    assert.match(text, new RegExp(`addon: +${info.addonVersion}, backends ${info.backends.join(', ')}`));
    assert.match(text, /kernels: +cpu: reference, esmm/);
    if (report.devices.length === 0) assert.match(report.verdict, /^cpu backend only: /);
  });

  it('says why there is no GPU instead of failing', () => {
    const fake: NativeBinding = {
      info: () => ({
        addonVersion: '9.9.9', backends: ['cpu', 'cuda'], cuda: { runtimeVersion: '13.0', driverVersion: '', error: 'no NVIDIA driver found' },
        kernels: { cpu: ['reference', 'esmm'], cuda: ['esmm'] }, cpuThreads: 4, registry: [],
      }),
      devices: () => [],
      computePatterns: () => Promise.reject(new Error('unused')),
      benchmark: () => Promise.reject(new Error('unused')),
      gemm: () => Promise.reject(new Error('unused')),
      deviceTensors: {} as DeviceTensors,
    };
    const report = doctor({ native: () => fake });
    assert.equal(report.verdict, 'cpu backend only: no CUDA device (no NVIDIA driver found)');
    assert.match(formatDoctor(report), /cuda: +runtime 13\.0, driver none \(no NVIDIA driver found\)\ncublas: +not linked\ncpu: +4 threads\ndevices: +none/);
  });

  it('reports an addon that cannot load, with its code', () => {
    const report = doctor({
      native: () => {
        throw new EsmmError('NO_BACKEND', 'native addon x.node: not built. Fix: run `npm run build:native`');
      },
    });
    assert.equal(report.addon, null);
    assert.deepEqual(report.addonError, { code: 'NO_BACKEND', message: 'native addon x.node: not built. Fix: run `npm run build:native`' });
    assert.match(formatDoctor(report), /addon: +not loaded \[NO_BACKEND\]/);
  });
});
