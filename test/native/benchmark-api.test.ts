import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import type { BenchmarkParams } from '../../src/native/types.js';
import { randomMatrix } from './reference.js';

const native = loadNative();
/** Exactly `runs` single-call samples: the noise discipline off (its own tests turn it on). */
const base: BenchmarkParams = {
  backend: 'cpu', m: 20, k: 30, n: 40, seed: 1, b: randomMatrix(30, 40, 1),
  kernels: ['reference', 'esmm'], warmup: 1, runs: 5, l2: 'cold', stdevTarget: 0, minSampleMs: 0,
};

/** Fraction of (32-row A tile, 32-column B tile, k) with both pattern bits set, by brute force. */
function kDensityOf(aPat: Uint8Array, bPat: Uint8Array, m: number, n: number, k: number): number {
  const slices = Math.ceil(k / 8);
  const mTiles = Math.ceil(m / 32);
  const nTiles = Math.ceil(n / 32);
  let joint = 0;
  for (let mt = 0; mt < mTiles; mt++) {
    for (let nt = 0; nt < nTiles; nt++) {
      for (let kk = 0; kk < k; kk++) {
        const s = kk >> 3;
        const bit = 1 << (kk & 7);
        if (aPat[mt * slices + s]! & bPat[nt * slices + s]! & bit) joint++;
      }
    }
  }
  return joint / (mTiles * nTiles * k);
}

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
      assert.ok(k.maxAbsErrRel! < 1e-6);
      assert.equal(k.callsPerSample, 1);
      assert.equal(k.noisy, false);
      assert.ok(k.stdevRel! >= 0);
    }
  });

  it('reports k density: the share of (A tile, B tile, k) with both bits set', async () => {
    const [m, k, n] = [70, 45, 100];
    const a = randomMatrix(m, k, 5, { groupZeroFraction: 0.5, tileAxis: 'rows' });
    const b = randomMatrix(k, n, 6, { groupZeroFraction: 0.4, tileAxis: 'cols' });
    const res = await native.benchmark({ ...base, m, k, n, a, b, runs: 1, warmup: 0 });
    const aPat = await native.computePatterns({ data: a, rows: m, cols: k, operand: 'A', backend: 'cpu' });
    const bPat = await native.computePatterns({ data: b, rows: k, cols: n, operand: 'B', backend: 'cpu' });
    const expected = kDensityOf(aPat, bPat, m, n, k);
    assert.ok(expected > 0.1 && expected < 0.6, `test data gives k density ${expected}`);
    assert.ok(Math.abs(res.kDensity - expected) < 1e-12, `${res.kDensity} vs ${expected}`);
    const dense = await native.benchmark({ ...base, runs: 1, warmup: 0, b: undefined, synthetic: { mode: 'b-only', density: 1 } });
    assert.equal(dense.kDensity, 1);
    const joint = await native.benchmark({ ...base, m: 256, k: 512, n: 256, runs: 1, warmup: 0, b: undefined, synthetic: { mode: 'joint', density: 0.5 } });
    assert.ok(Math.abs(joint.kDensity - 0.25) < 0.05, `joint d = 0.5: ${joint.kDensity}`);
  });

  it('noise discipline: samples past `runs` until the target, or the time cap marks the kernel noisy', async () => {
    // A target no timing meets: sampling goes on until the cap, then the row is flagged.
    const t0 = Date.now();
    const capped = await native.benchmark({ ...base, kernels: ['esmm'], runs: 3, stdevTarget: 1e-9, timeCapMs: 150 });
    const elapsed = Date.now() - t0;
    const k = capped.kernels[0]!;
    assert.ok(k.time!.samples.length > 3, `${k.time!.samples.length} samples`);
    assert.equal(k.noisy, true);
    assert.ok(k.stdevRel! > 1e-9);
    assert.ok(elapsed < 5000, `the 150 ms cap took ${elapsed} ms`);
    // A target every timing meets stops at `runs`.
    const easy = await native.benchmark({ ...base, kernels: ['esmm'], runs: 4, l2: 'hot', minSampleMs: 5, stdevTarget: 1, timeCapMs: 10000 });
    assert.equal(easy.kernels[0]!.time!.samples.length, 4);
    assert.equal(easy.kernels[0]!.noisy, false);
  });

  it('cpu samples repeat the call up to minSampleMs and record the mean per call', async () => {
    const res = await native.benchmark({ ...base, kernels: ['esmm'], runs: 3, minSampleMs: 10 });
    const k = res.kernels[0]!;
    assert.ok(k.callsPerSample! > 1, `a 20×30×40 product should need many calls per 10 ms sample, got ${k.callsPerSample}`);
    assert.ok(k.time!.median * k.callsPerSample! > 2, `a sample lasted ${k.time!.median * k.callsPerSample!} ms`);
    assert.ok(k.time!.median < 10);
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
    await assert.rejects(native.benchmark({ ...base, stdevTarget: -0.1 }), rejectsWith('USAGE'));
    await assert.rejects(native.benchmark({ ...base, stdevTarget: Number.NaN }), rejectsWith('USAGE'));
    await assert.rejects(native.benchmark({ ...base, timeCapMs: -1 }), rejectsWith('USAGE'));
    await assert.rejects(native.benchmark({ ...base, minSampleMs: Number.POSITIVE_INFINITY }), rejectsWith('USAGE'));
    await assert.rejects(
      native.benchmark({ ...base, timeCapMs: '5' as unknown as number }),
      (err: unknown) => err instanceof EsmmError && err.code === 'USAGE' && /params\.timeCapMs must be a number/.test(err.message),
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
  it('info() reports the kernel registry, every backend\'s ids in every build; `kernels` lists the ids this build runs', () => {
    const info = native.info();
    const cpu = info.registry.filter((e) => e.backend === 'cpu');
    assert.deepEqual(cpu.map((e) => [e.id, e.role, e.float32Accurate, e.built]), [['reference', 'baseline', true, true], ['esmm', 'sparse', true, true]]);
    const cuda = new Map(info.registry.filter((e) => e.backend === 'cuda').map((e) => [e.id, e]));
    // A build without the CUDA backend (or cuBLAS) lists the GPU ids all the same, as not built.
    assert.deepEqual([...cuda.keys()], ['cublas', 'dense-tf32x3', 'cublas-tf32', 'cublas-bf16', 'esmm']);
    assert.equal(cuda.get('esmm')?.built, info.backends.includes('cuda'));
    assert.equal(cuda.get('cublas')?.built, info.cublas !== undefined);
    for (const e of info.registry) {
      assert.deepEqual(Object.keys(e).sort(), ['backend', 'built', 'description', 'float32Accurate', 'id', 'role', 'tolerance']);
      assert.ok(e.description.length > 10, e.id);
      // The strict bar for float32-accurate kernels; looser ones only for TF32 / BF16 references.
      if (e.float32Accurate) assert.deepEqual(e.tolerance, { relFrobenius: 1e-5, maxAbsRel: 1e-5 }, e.id);
      else assert.equal(e.role, 'reference', e.id);
    }
    for (const backend of info.backends) {
      assert.deepEqual(info.kernels[backend], info.registry.filter((e) => e.backend === backend && e.built).map((e) => e.id));
    }
    assert.equal(cuda.get('dense-tf32x3')?.role, 'baseline');
    assert.equal(cuda.get('esmm')?.role, 'sparse');
    assert.deepEqual(cuda.get('cublas-tf32')?.tolerance, { relFrobenius: 5e-3, maxAbsRel: 1e-2 });
    assert.deepEqual(cuda.get('cublas-bf16')?.tolerance, { relFrobenius: 2e-2, maxAbsRel: 5e-2 });
    // The commit recorded at build time: a full hash (dirty or not), or '' where none was known.
    assert.match(info.buildCommit ?? '', /^([0-9a-f]{40}(-dirty)?)?$/);
  });

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

describe('benchmarkSync', () => {
  it('is the same call on this thread: the same results as benchmark, B read in place, errors thrown with their code', async (t) => {
    if (!native.benchmarkSync) {
      t.skip('this build of the addon predates benchmarkSync (npm run build:native)');
      return;
    }
    const a = randomMatrix(20, 30, 7);
    const params: BenchmarkParams = { ...base, a };
    const viaPool = await native.benchmark(params);
    const here = native.benchmarkSync(params);
    const facts = (r: typeof here) => [r.kDensity, r.skippedSliceFraction, r.kernels.map((k) => [k.id, k.ok, k.relErrFrobenius, k.maxAbsErrRel, k.time?.samples.length])];
    assert.deepEqual(facts(here), facts(viaPool));
    assert.ok(here.kernels.every((k) => k.ok));
    assert.throws(() => native.benchmarkSync!({ ...base, b: base.b!.subarray(1) }), rejectsWith('SHAPE'));
    assert.throws(() => native.benchmarkSync!({ ...base, backend: 'gpu' as 'cpu' }), rejectsWith('USAGE'));
  });
});
