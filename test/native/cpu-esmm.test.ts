import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadNative } from '../../src/native/index.js';
import type { BenchmarkParams, KernelResult } from '../../src/native/types.js';
import { aPatternsTs, bPatternsTs, randomMatrix, rng, skippedFractionTs } from './reference.js';

const native = loadNative();
/** Float32 accumulation error stays far below this for K ≤ a few thousand; a wrong element does not. */
const FP32_TOL = 1e-5;

function params(m: number, k: number, n: number, a: Float32Array, b: Float32Array, extra: Partial<BenchmarkParams> = {}): BenchmarkParams {
  return { backend: 'cpu', m, k, n, a, b, seed: 1, kernels: ['reference', 'esmm'], warmup: 0, runs: 1, l2: 'hot', stdevTarget: 0, minSampleMs: 0, ...extra };
}

function assertAccurate(r: KernelResult, what: string): void {
  assert.equal(r.ok, true, `${what}: ${r.id} failed: ${r.error}`);
  assert.ok(r.relErrFrobenius! <= FP32_TOL, `${what}: ${r.id} rel err ${r.relErrFrobenius}`);
  assert.ok(r.maxAbsErrRel! <= FP32_TOL, `${what}: ${r.id} max err ${r.maxAbsErrRel}`);
}

describe('cpu esmm equals the float64 reference', () => {
  const rand = rng(42);
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 300, 1],
    [2, 3, 5],
    [31, 9, 33],
    [32, 32, 32],
    [33, 65, 97],
    [64, 128, 64],
    [100, 257, 300],
  ];
  for (let i = 0; i < 6; i++) shapes.push([1 + Math.floor(rand() * 300), 1 + Math.floor(rand() * 300), 1 + Math.floor(rand() * 300)]);

  for (const [m, k, n] of shapes) {
    it(`joint-sparse ${m}×${k}×${n}`, async () => {
      const a = randomMatrix(m, k, m + 7 * k, { groupZeroFraction: 0.5, tileAxis: 'rows' });
      const b = randomMatrix(k, n, n + 11 * k, { groupZeroFraction: 0.5, tileAxis: 'cols' });
      const res = await native.benchmark(params(m, k, n, a, b));
      assert.equal(res.kernels.length, 2);
      for (const r of res.kernels) assertAccurate(r, `${m}×${k}×${n}`);
      const expectedSkip = skippedFractionTs(aPatternsTs(a, m, k), bPatternsTs(b, k, n), m, n, k);
      assert.ok(Math.abs(res.skippedSliceFraction - expectedSkip) < 1e-12, `skip ${res.skippedSliceFraction} vs ${expectedSkip}`);
    });
  }

  it('all-zero operands give exact zeros and skip everything', async () => {
    const [m, k, n] = [40, 50, 70];
    const res = await native.benchmark(params(m, k, n, new Float32Array(m * k), randomMatrix(k, n, 1)));
    assert.equal(res.skippedSliceFraction, 1);
    for (const r of res.kernels) {
      assert.equal(r.ok, true);
      assert.equal(r.relErrFrobenius, 0);
      assert.equal(r.maxAbsErrRel, 0);
    }
  });

  it('all-dense operands skip nothing', async () => {
    const [m, k, n] = [70, 90, 45];
    const res = await native.benchmark(params(m, k, n, randomMatrix(m, k, 2), randomMatrix(k, n, 3)));
    assert.equal(res.skippedSliceFraction, 0);
    for (const r of res.kernels) assertAccurate(r, 'dense');
  });

  it('given B patterns are used, and wrong ones are caught by the check', async () => {
    const [m, k, n] = [64, 64, 64];
    const a = randomMatrix(m, k, 4);
    const b = randomMatrix(k, n, 5);
    const good = await native.benchmark(params(m, k, n, a, b, { kernels: ['esmm'], bPatterns: bPatternsTs(b, k, n) }));
    assertAccurate(good.kernels[0]!, 'given patterns');
    // Patterns that drop half of B's slices make ESMM skip real work: it must fail, without a time.
    const wrong = bPatternsTs(b, k, n).map((x, i) => (i % 2 ? 0 : x));
    const bad = await native.benchmark(params(m, k, n, a, b, { kernels: ['esmm'], bPatterns: wrong }));
    const r = bad.kernels[0]!;
    assert.equal(r.ok, false);
    assert.equal(r.errorCode, 'WRONG_RESULT');
    assert.equal(r.time, undefined);
    assert.ok(r.relErrFrobenius! > 0.1);
  });

  it('NaN in A fails the row (NaN output) rather than passing silently', async () => {
    const [m, k, n] = [8, 16, 8];
    const a = randomMatrix(m, k, 6);
    a[3] = Number.NaN;
    const res = await native.benchmark(params(m, k, n, a, randomMatrix(k, n, 7)));
    for (const r of res.kernels) {
      assert.equal(r.ok, false);
      assert.equal(r.errorCode, 'WRONG_RESULT');
      assert.match(r.error!, /^first timed run: 8 elements are NaN/); // row 0 of C
      assert.equal(r.time, undefined);
    }
  });
});

describe('synthetic generator', () => {
  it('joint mode skips (1 - d²)^8 of the slices on average', async () => {
    const cases: Array<[number, number]> = [
      [0, 1],
      [1, 0],
      [0.5, 0.75 ** 8],
      [0.25, (1 - 0.0625) ** 8],
    ];
    for (const [d, expected] of cases) {
      const res = await native.benchmark({
        backend: 'cpu', m: 64, k: 16384, n: 64, seed: 9, synthetic: { mode: 'joint', density: d },
        kernels: ['esmm'], warmup: 0, runs: 1, l2: 'hot', stdevTarget: 0, minSampleMs: 0,
      });
      assert.ok(Math.abs(res.skippedSliceFraction - expected) < 0.025, `d=${d}: ${res.skippedSliceFraction} vs ${expected}`);
      assert.equal(res.kernels[0]!.ok, true);
      assert.ok(res.kernels[0]!.relErrFrobenius! <= FP32_TOL);
    }
  });

  it('b-only mode keeps A dense', async () => {
    const res = await native.benchmark({
      backend: 'cpu', m: 64, k: 256, n: 256, seed: 3, synthetic: { mode: 'b-only', density: 0.5 },
      kernels: ['esmm'], warmup: 0, runs: 1, l2: 'hot',
    });
    // A dense → joint = bPat, zero with probability 0.5^8.
    assert.ok(res.skippedSliceFraction < 0.02, String(res.skippedSliceFraction));
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const run = (seed: number) =>
      native.benchmark({
        backend: 'cpu', m: 96, k: 96, n: 96, seed, synthetic: { mode: 'joint', density: 0.3 },
        kernels: ['esmm'], warmup: 0, runs: 1, l2: 'hot', stdevTarget: 0, minSampleMs: 0,
      });
    const [x, y, z] = await Promise.all([run(5), run(5), run(6)]);
    assert.equal(x.skippedSliceFraction, y.skippedSliceFraction);
    assert.equal(x.kernels[0]!.relErrFrobenius, y.kernels[0]!.relErrFrobenius);
    assert.notEqual(x.skippedSliceFraction, z.skippedSliceFraction);
  });
});
