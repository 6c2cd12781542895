import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import type { BenchmarkParams } from '../../src/native/types.js';
import { randomMatrix } from './reference.js';

const native = loadNative();
const base: BenchmarkParams = {
  backend: 'cpu', m: 20, k: 30, n: 40, seed: 1, b: randomMatrix(30, 40, 1),
  kernels: ['reference', 'esmm'], warmup: 1, runs: 5, l2: 'cold',
};

function rejectsWith(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof EsmmError, `not an EsmmError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

describe('native benchmark on cpu', () => {
  it('returns well-formed results with every sample', async () => {
    const res = await native.benchmark(base);
    assert.equal(res.backend, 'cpu');
    assert.match(res.device, /^cpu \(\d+ threads\)$/);
    assert.equal(res.reference, 'cpu-fp64');
    assert.equal(res.aPatterns.samples.length, 5);
    assert.deepEqual(res.kernels.map((k) => k.id), ['reference', 'esmm']);
    for (const k of res.kernels) {
      assert.equal(k.ok, true);
      const t = k.time!;
      assert.equal(t.samples.length, 5);
      assert.ok(t.samples.every((s) => s > 0 && Number.isFinite(s)));
      assert.equal(t.min, Math.min(...t.samples));
      assert.equal(t.max, Math.max(...t.samples));
      const sorted = [...t.samples].sort((x, y) => x - y);
      assert.equal(t.median, sorted[2]);
      assert.ok(k.relErrFrobenius! < 1e-6);
    }
  });

  it('rejects impossible shapes with SHAPE', async () => {
    await assert.rejects(native.benchmark({ ...base, m: 0 }), rejectsWith('SHAPE'));
    await assert.rejects(native.benchmark({ ...base, n: -3 }), rejectsWith('SHAPE'));
    await assert.rejects(native.benchmark({ ...base, k: 2.5 }), rejectsWith('SHAPE'));
    await assert.rejects(native.benchmark({ ...base, b: new Float32Array(7) }), rejectsWith('SHAPE'));
    await assert.rejects(native.benchmark({ ...base, a: new Float32Array(20 * 29) }), rejectsWith('SHAPE'));
    await assert.rejects(native.benchmark({ ...base, bPatterns: new Uint8Array(3) }), rejectsWith('SHAPE'));
    // 50000 × 50000 does not fit int indexing.
    await assert.rejects(
      native.benchmark({ ...base, b: undefined, synthetic: { mode: 'joint', density: 1 }, m: 50000, k: 50000 }),
      rejectsWith('SHAPE'),
    );
  });

  it('rejects bad arguments with USAGE', async () => {
    await assert.rejects(native.benchmark({ ...base, kernels: ['cublas'] }), rejectsWith('USAGE'));
    await assert.rejects(native.benchmark({ ...base, kernels: [] }), rejectsWith('USAGE'));
    await assert.rejects(native.benchmark({ ...base, runs: 0 }), rejectsWith('USAGE'));
    await assert.rejects(native.benchmark({ ...base, b: undefined }), rejectsWith('USAGE'));
    await assert.rejects(
      native.benchmark({ ...base, b: undefined, synthetic: { mode: 'joint', density: 1.5 } }),
      rejectsWith('USAGE'),
    );
  });

  it('keeps the caller in the stack of a rejection', async () => {
    try {
      await native.benchmark({ ...base, m: 0 });
      assert.fail('did not reject');
    } catch (err) {
      assert.match((err as Error).stack ?? '', /benchmark-api\.test/);
    }
  });
});

describe('native info without a GPU', () => {
  it('info() lists the cpu backend and its kernels', () => {
    const info = native.info();
    assert.ok(info.backends.includes('cpu'));
    assert.deepEqual(info.kernels.cpu, ['reference', 'esmm']);
    assert.ok(info.cpuThreads >= 1);
    assert.match(info.addonVersion, /^\d+\.\d+\.\d+/);
    if (info.backends.includes('cuda')) assert.ok(info.cuda, 'cuda backend without cuda versions');
  });

  it('devices() is a list, and an unusable cuda backend rejects with a code', async () => {
    const devices = native.devices();
    assert.ok(Array.isArray(devices));
    if (hasCuda(native)) return;
    const expected = native.info().backends.includes('cuda') ? 'NO_DEVICE' : 'NO_BACKEND';
    await assert.rejects(
      native.benchmark({ ...base, backend: 'cuda', kernels: ['esmm'] }),
      rejectsWith(expected),
    );
    // The next call works.
    const res = await native.benchmark({ ...base, runs: 1, warmup: 0 });
    assert.equal(res.kernels.length, 2);
  });
});
