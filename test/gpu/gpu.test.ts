/**
 * The GPU suite: ESMM, dense-tf32x3 and cuBLAS against the float64 reference under the strict bar
 * of the kernel registry, GPU patterns against the CPU reference, a planted fault that verification
 * must catch, the noise discipline and the cuBLAS candidate search, and recovery after errors.
 * Skipped, with the reason printed, without a CUDA device.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import type { BenchmarkParams, BenchmarkResult, KernelResult, SyntheticMode } from '../../src/native/types.js';
import { randomMatrix, rng } from '../native/reference.js';

const native = loadNative();
const cudaReady = hasCuda(native);
const info = native.info();
const skip = cudaReady
  ? false
  : `no CUDA device: ${info.backends.includes('cuda') ? (info.cuda?.error ?? 'none found') : 'addon built without CUDA'}`;
const haveCublas = info.kernels.cuda?.includes('cublas') ?? false;
/** The float32-accurate kernels: each must meet the strict bar on every shape below. */
const KERNELS = haveCublas ? ['cublas', 'dense-tf32x3', 'esmm'] : ['dense-tf32x3', 'esmm'];

/**
 * The strict bar of a float32-accurate kernel, read from the registry: ‖C − C64‖_F / ‖C64‖_F and
 * max |C − C64| / max |C64| both ≤ 1e-5 for every shape, K = 65536 included (measured on H100 with
 * the Frobenius error alone: ESMM ≤ 1.2e-6, cuBLAS SGEMM ≤ 7e-7 over this suite).
 */
function barOf(id: string): { relFrobenius: number; maxAbsRel: number } {
  const entry = (info.registry ?? []).find((e) => e.backend === 'cuda' && e.id === id);
  return entry?.tolerance ?? { relFrobenius: 1e-5, maxAbsRel: 1e-5 };
}
const STRICT = 1e-5;

/** Worst errors seen per test, printed as test diagnostics so the logs carry the numbers. */
const worst: Record<string, { fro: number; max: number }> = {};
let worstVsCublas = 0;

function report(t: { diagnostic: (msg: string) => void }): void {
  const parts = Object.entries(worst).map(([id, w]) => `${id} ${w.fro.toExponential(2)} / ${w.max.toExponential(2)}`);
  t.diagnostic(`worst rel Frobenius / max err vs float64: ${parts.join(', ')}; worst max err esmm vs cublas ${worstVsCublas.toExponential(2)}`);
  for (const id of Object.keys(worst)) delete worst[id];
  worstVsCublas = 0;
}

function check(res: BenchmarkResult, what: string): void {
  for (const r of res.kernels) {
    const w = (worst[r.id] ??= { fro: 0, max: 0 });
    w.fro = Math.max(w.fro, r.relErrFrobenius ?? Infinity);
    w.max = Math.max(w.max, r.maxAbsErrRel ?? Infinity);
    const bar = barOf(r.id);
    assert.equal(r.ok, true, `${what}: ${r.id} failed: ${r.error}`);
    assert.ok(bar.relFrobenius <= STRICT && bar.maxAbsRel <= STRICT, `${r.id}: registry bar is not strict`);
    assert.ok(r.relErrFrobenius! <= bar.relFrobenius, `${what}: ${r.id} rel err ${r.relErrFrobenius}`);
    assert.ok(r.maxAbsErrRel! <= bar.maxAbsRel, `${what}: ${r.id} max err ${r.maxAbsErrRel}`);
    assert.ok(r.time!.samples.length > 0);
  }
  const esmm = res.kernels.find((r) => r.id === 'esmm');
  const cublas = res.kernels.find((r) => r.id === 'cublas');
  if (esmm && cublas) {
    worstVsCublas = Math.max(worstVsCublas, esmm.maxAbsErrRelVsCublas!);
    assert.ok(
      esmm.relErrFrobenius! <= 3 * cublas.relErrFrobenius! + 1e-6,
      `${what}: esmm ${esmm.relErrFrobenius} vs cublas ${cublas.relErrFrobenius}`,
    );
    assert.ok(esmm.maxAbsErrRelVsCublas! <= STRICT, `${what}: vs cublas ${esmm.maxAbsErrRelVsCublas}`);
  }
}

function run(p: Partial<BenchmarkParams> & Pick<BenchmarkParams, 'm' | 'k' | 'n'>): Promise<BenchmarkResult> {
  // stdevTarget 0: exactly `runs` samples; the suite checks results, not times.
  return native.benchmark({ backend: 'cuda', seed: 1, kernels: KERNELS, warmup: 1, runs: 2, l2: 'hot', stdevTarget: 0, ...p });
}

/** A dispatch case: M, K, N, the synthetic mode and density, and whether the rule under test holds. */
type DispatchCase = [number, number, number, SyntheticMode, number, boolean];

/** Runs each case under the strict check, then hands its variants to `expect` with the case's flag. */
async function eachDispatchCase(
  cases: DispatchCase[],
  expect: (variant: (id: string) => string, holds: boolean, what: string) => void,
): Promise<void> {
  for (const [m, k, n, mode, density, holds] of cases) {
    const what = `${mode} d=${density} ${m}×${k}×${n}`;
    const res = await run({ m, k, n, seed: m + n, synthetic: { mode, density } });
    check(res, what);
    expect((id) => res.kernels.find((r) => r.id === id)!.variant!, holds, what);
  }
}

describe('gpu patterns equal the cpu reference bit by bit', { skip }, () => {
  const shapes: Array<[number, number]> = [[1, 1], [33, 17], [100, 300], [4097, 1000], [5, 65536], [65536, 3]];
  for (const [rows, cols] of shapes) {
    it(`${rows}×${cols}`, async () => {
      const data = randomMatrix(rows, cols, rows + cols, { zeroFraction: 0.995, nanFraction: 0.0005 });
      for (const operand of ['A', 'B'] as const) {
        const gpu = await native.computePatterns({ data, rows, cols, operand, backend: 'cuda' });
        const cpu = await native.computePatterns({ data, rows, cols, operand, backend: 'cpu' });
        assert.deepEqual(gpu, cpu, `${operand} patterns differ`);
      }
    });
  }
});

describe('esmm, dense-tf32x3 and cuBLAS on the gpu meet the strict bar against float64', { skip }, () => {
  const rand = rng(2026);
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [1, 7, 33], [31, 33, 65], [64, 64, 128], [127, 255, 129]];
  for (let i = 0; i < 8; i++) shapes.push([1 + Math.floor(rand() * 5000), 1 + Math.floor(rand() * 5000), 1 + Math.floor(rand() * 5000)]);

  it('given A and B (real-data path), block-sparse at several densities', async (t) => {
    for (const [i, [m, k, n]] of shapes.entries()) {
      const zero = [0, 0.5, 0.9, 1][i % 4]!;
      const a = randomMatrix(m, k, i, { groupZeroFraction: zero === 1 ? 0.3 : zero, tileAxis: 'rows' });
      const b = randomMatrix(k, n, i + 100, { groupZeroFraction: zero, tileAxis: 'cols' });
      check(await run({ m, k, n, a, b }), `real ${m}×${k}×${n} zero=${zero}`);
    }
    report(t);
  });

  it('synthetic joint and b-only data at densities 0…1', async (t) => {
    for (const [i, [m, k, n]] of shapes.entries()) {
      for (const mode of ['joint', 'b-only'] as const) {
        const density = [0, 0.125, 0.25, 0.5, 1][(i + (mode === 'joint' ? 0 : 2)) % 5]!;
        check(await run({ m, k, n, seed: i, synthetic: { mode, density } }), `${mode} d=${density} ${m}×${k}×${n}`);
      }
    }
    report(t);
  });

  it('long K (up to 65536) for thin and decode-sized shapes', async (t) => {
    const long: Array<[number, number, number]> = [[16, 65536, 4096], [1, 65536, 33], [128, 28672, 512], [3, 14336, 4097]];
    for (const [m, k, n] of long) {
      for (const [mode, density] of [['b-only', 1], ['b-only', 0.5], ['joint', 0.25]] as const) {
        check(await run({ m, k, n, synthetic: { mode, density } }), `${mode} ${m}×${k}×${n} d=${density}`);
      }
    }
    report(t);
  });

  it('few rows at a low joint k density take tf32x3-warp-splitk, K split, and meet the bar', async (t) => {
    // The dispatcher's rule (kernels/dispatch.cu, warpSplitWins): 9–128 rows, joint k density ≤ .3;
    // up to 32 rows, ≤ .65 where K ≥ 3072.
    const cases: DispatchCase[] = [
      [48, 4096, 1000, 'b-only', 0.25, true],
      [24, 4096, 1000, 'b-only', 0.5, true],
      [32, 4096, 520, 'b-only', 0.5, true],
      [32, 2048, 520, 'b-only', 0.5, false],
      [33, 4096, 1000, 'b-only', 0.5, false],
      [9, 8192, 257, 'joint', 0.5, true],
      [128, 2048, 96, 'b-only', 0.125, true],
      [48, 4096, 1000, 'b-only', 0.5, false],
      [129, 2048, 96, 'b-only', 0.125, false],
      [8, 4096, 1000, 'b-only', 0.25, false],
    ];
    await eachDispatchCase(cases, (variant, taken, what) => {
      assert.equal(variant('esmm') === 'tf32x3-warp-splitk', taken, `${what}: ${variant('esmm')}`);
    });
    report(t);
  });

  it('up to 32 rows over a short K take gemv-skip, and dense-tf32x3 its dense form', async (t) => {
    // variants.cuh, gemvRuns: 1–4 rows at any K; 5–8 rows while K ≤ 2048; 9–32 rows while
    // ceil(M / 4) · K ≤ 2048. From K = 2048 at a joint k density ≤ .75 with 16-byte rows it runs one
    // slice a warp (esmm_gemv.cu, oneSliceRuns): the 4 × 8192, 3 × 4096 and 1 × 2048 cases.
    const cases: DispatchCase[] = [
      [3, 4096, 1000, 'b-only', 0.5, true],
      [1, 2048, 516, 'joint', 0.5, true],
      [8, 2048, 200, 'b-only', 1, true],
      [5, 1500, 64, 'joint', 0.5, true],
      [8, 2049, 200, 'b-only', 1, false],
      [16, 512, 300, 'b-only', 0.5, true],
      [32, 256, 130, 'b-only', 1, true],
      [9, 682, 64, 'joint', 0.5, true],
      [16, 513, 300, 'b-only', 0.5, false],
      [33, 128, 64, 'b-only', 0.5, false],
      [4, 8192, 100, 'b-only', 0.25, true],
    ];
    await eachDispatchCase(cases, (variant, taken, what) => {
      assert.equal(variant('esmm') === 'gemv-skip', taken, `${what}: ${variant('esmm')}`);
      assert.equal(variant('dense-tf32x3') === 'dense-gemv-ffma', taken, `${what} dense: ${variant('dense-tf32x3')}`);
    });
    report(t);
  });

  it('on the Hopper path a narrow B over a short K swaps the operands at any M', async (t) => {
    // wgmma_tf32x3.cu, planFor: N ≤ 128 and K ≤ 384 take 32 of A's rows a block, swapped.
    const cases: DispatchCase[] = [
      [4096, 128, 128, 'b-only', 0.5, true],
      [300, 384, 100, 'b-only', 1, true],
      [1000, 64, 33, 'b-only', 0.5, true],
      [4096, 128, 384, 'b-only', 0.5, false],
      [1000, 512, 128, 'b-only', 1, false],
    ];
    await eachDispatchCase(cases, (variant, swapped, what) => {
      for (const id of ['esmm', 'dense-tf32x3']) {
        // Not a Hopper GPU, or a build without sm_90a: another path, nothing to assert.
        const v = variant(id);
        if (v.startsWith('wgmma')) assert.equal(v.includes('-swap-128x32x32'), swapped, `${what} ${id}: ${v}`);
      }
    });
    report(t);
  });

  it('where a k-list kernel runs, it reads A as the pattern pass transposed it', async (t) => {
    // esmmWantsTransposedA: the A-pattern pass writes A transposed too, and, from 256 rows below B
    // density .3, tf32x3-warp (joint) or tf32x3-klist (b-only, A dense) reads it; at 9–128 rows,
    // tf32x3-warp-splitk. The patterns it made must be the CPU reference's.
    const cases: Array<[number, number, number, SyntheticMode, number]> = [
      [300, 600, 100, 'joint', 0.25],
      [257, 1000, 96, 'b-only', 0.125],
      [512, 300, 70, 'joint', 0.125],
      [24, 3072, 96, 'b-only', 0.5],
      [17, 4000, 300, 'joint', 0.5],
    ];
    for (const [m, k, n, mode, density] of cases) {
      const p = { m, k, n, seed: m + k, synthetic: { mode, density } };
      const res = await run(p);
      check(res, `${mode} d=${density} ${m}×${k}×${n}`);
      const esmm = res.kernels.find((r) => r.id === 'esmm')!;
      assert.match(esmm.variant!, /^tf32x3-(warp|klist|warp-splitk)$/, `${m}×${k}×${n}: ${esmm.variant}`);
      const cpu = await native.benchmark({ ...p, backend: 'cpu', kernels: ['esmm'], warmup: 0, runs: 1, l2: 'hot' });
      assert.equal(res.skippedSliceFraction, cpu.skippedSliceFraction, `${m}×${k}×${n}: patterns differ from the CPU's`);
      assert.equal(res.kDensity, cpu.kDensity, `${m}×${k}×${n}: k density differs from the CPU's`);
    }
    report(t);
  });

  it('dense-tf32x3 on ragged shapes (edges in every dimension, K to 65536)', async (t) => {
    const ragged: Array<[number, number, number]> = [
      [1, 1, 1], [2, 3, 5], [127, 33, 129], [129, 31, 257], [130, 4099, 131], [4097, 127, 4095], [5, 65536, 7], [257, 65535, 130],
    ];
    for (const [m, k, n] of ragged) {
      const a = randomMatrix(m, k, m + k, {});
      const b = randomMatrix(k, n, k + n, {});
      check(await run({ m, k, n, a, b, kernels: ['dense-tf32x3'] }), `dense ${m}×${k}×${n}`);
    }
    report(t);
  });

  it('the GPU generator builds the same synthetic matrices as the CPU one', async () => {
    const cases: Array<[number, number, number, SyntheticMode, number]> = [[70, 300, 90, 'joint', 0.3], [33, 1000, 65, 'b-only', 0.2]];
    for (const [m, k, n, mode, density] of cases) {
      const p: Omit<BenchmarkParams, 'backend'> = { m, k, n, seed: 11, synthetic: { mode, density }, kernels: ['esmm'], warmup: 0, runs: 1, l2: 'hot' };
      const [gpu, cpu] = [await native.benchmark({ ...p, backend: 'cuda' }), await native.benchmark({ ...p, backend: 'cpu' })];
      // Same data ⇒ same patterns (GPU pattern kernel vs CPU reference) ⇒ the same skipped fraction.
      assert.equal(gpu.skippedSliceFraction, cpu.skippedSliceFraction);
      assert.ok(gpu.skippedSliceFraction > 0 && gpu.skippedSliceFraction < 1);
    }
  });

  it('timing: cold L2 runs report every sample', async () => {
    const res = await run({ m: 512, k: 512, n: 512, runs: 7, l2: 'cold', synthetic: { mode: 'joint', density: 0.5 } });
    assert.equal(res.backend, 'cuda');
    assert.equal(res.reference, haveCublas ? 'cublasDgemm' : 'gpu-fp64-tiled');
    assert.equal(res.aPatterns.samples.length, 7);
    for (const k of res.kernels) {
      assert.equal(k.time!.samples.length, 7);
      assert.ok(k.time!.min > 0 && k.time!.min <= k.time!.median && k.time!.median <= k.time!.max);
      assert.equal(k.callsPerSample, 1);
    }
  });

  it('noise discipline: samples until stdev_rel reaches the target or the cap ends it (noisy)', async (t) => {
    const target = 0.01;
    const res = await native.benchmark({
      backend: 'cuda', m: 2048, k: 2048, n: 2048, seed: 3, synthetic: { mode: 'joint', density: 0.5 },
      kernels: KERNELS, warmup: 2, runs: 5, l2: 'cold', stdevTarget: target, timeCapMs: 1500,
    });
    for (const k of res.kernels) {
      assert.ok(k.time!.samples.length >= 5, `${k.id}: ${k.time!.samples.length} samples`);
      assert.equal(typeof k.stdevRel, 'number');
      assert.equal(k.noisy, k.stdevRel! > target, `${k.id}: stdevRel ${k.stdevRel} noisy ${k.noisy}`);
      t.diagnostic(`${k.id}: ${k.time!.samples.length} samples, stdev_rel ${k.stdevRel!.toExponential(2)}, median ${k.time!.median.toFixed(4)} ms`);
    }
    assert.ok(res.kDensity > 0.2 && res.kDensity < 0.3, `k density ${res.kDensity} at joint d = 0.5`);
  });

  it('cuBLAS rows keep the fastest of the cublasLt candidates and the default pick', { skip: !haveCublas }, async (t) => {
    for (const m of [16, 64, 4096]) {
      const res = await run({ m, k: 4096, n: 4096, kernels: ['cublas', 'cublas-tf32'], runs: 5, l2: 'cold', synthetic: { mode: 'b-only', density: 1 } });
      for (const k of res.kernels) {
        const c = k.candidates!;
        assert.ok(c.length >= 1, `${k.id}: no candidates`);
        for (let i = 1; i < c.length; i++) assert.ok(c[i - 1]!.medianMs <= c[i]!.medianMs, `${k.id}: candidates not fastest first`);
        assert.ok(c.some((x) => /default/.test(x.algo)), `${k.id}: the classic API's default pick is not among the candidates`);
        assert.match(k.variant!, /\(best of \d+\)$/);
        assert.ok(k.variant!.startsWith(c[0]!.algo), `${k.id}: variant ${k.variant} is not the fastest candidate ${c[0]!.algo}`);
        t.diagnostic(`m=${m} ${k.id}: ${k.variant}; ${c.map((x) => `${x.algo} ${x.medianMs.toFixed(4)}`).join(' | ')}`);
      }
    }
  });
});

describe('verification catches a planted fault (one skipped k of one tile)', { skip }, () => {
  async function withFault<T>(body: () => Promise<T>): Promise<T> {
    process.env.ESMM_TEST_FAULT = 'skip-k';
    try {
      return await body();
    } finally {
      delete process.env.ESMM_TEST_FAULT;
    }
  }

  // ESMM_TEST_FAULT=skip-k clears one set bit of the A patterns of the last 32-row tile, so ESMM
  // leaves out one k of that tile: a_ik·b_kj is missing from 32 rows (or fewer) of C. dense-tf32x3
  // and cuBLAS read no patterns and must still pass in the same call.
  it('4096×4096×11008: the skipped k fails the strict bar, the dense baselines pass', async (t) => {
    const res = await withFault(() =>
      run({ m: 4096, k: 4096, n: 11008, runs: 1, warmup: 0, synthetic: { mode: 'joint', density: 1 } }),
    );
    const esmm = res.kernels.find((r) => r.id === 'esmm')!;
    t.diagnostic(`esmm with the fault: ${esmm.error}`);
    assert.equal(esmm.ok, false);
    assert.equal(esmm.errorCode, 'WRONG_RESULT');
    assert.match(esmm.error!, /first timed run: relative Frobenius error .* max error .*> 1\.00e-05/);
    assert.match(esmm.error!, /last timed run/);
    assert.ok(esmm.maxAbsErrRel! > STRICT);
    for (const r of res.kernels.filter((k) => k.id !== 'esmm')) assert.equal(r.ok, true, `${r.id}: ${r.error}`);
  });

  // Why the strict bar, and the max error in it: the Frobenius error of one skipped k in a tile of
  // r rows is about sqrt(r / (M·K)) for data like this (uniform, zero mean). At 4096×4096 with a
  // full 32-row tile that is ~1.4e-3 (measured on an H200: 1.42e-3), which the old bar (Frobenius
  // only, 1e-4) caught as well; but with one row in the last tile (M = 8193) and K = 65536 it is
  // ~4e-5 (at most ~8e-5, as |a| ≤ 1), under the old 1e-4, so the old bar passed the wrong result
  // (at M = 4097 it measured 1.05e-4, just over). The strict Frobenius bar (1e-5) fails it, and the
  // max error (one product against max |C|, ~2e-3) fails it by two orders of magnitude.
  it('8193×65536×512: a fault the old 1e-4 Frobenius-only bar would have passed', async (t) => {
    const res = await withFault(() =>
      run({ m: 8193, k: 65536, n: 512, runs: 1, warmup: 0, kernels: ['esmm'], synthetic: { mode: 'joint', density: 1 } }),
    );
    const esmm = res.kernels[0]!;
    t.diagnostic(`esmm with the fault: ${esmm.error}`);
    assert.equal(esmm.ok, false);
    assert.ok(esmm.relErrFrobenius! < 1e-4, `Frobenius ${esmm.relErrFrobenius}: the old bar would have caught this one`);
    assert.ok(esmm.maxAbsErrRel! > 10 * STRICT, `max err ${esmm.maxAbsErrRel}`);
  });

  // The check runs on the device (kernels/accuracy.h): a NaN at A[r][k] makes row r of C and of the
  // float64 reference NaN, so each kernel must count exactly n non-finite elements, and the norms
  // over the other rows must still meet the bar.
  it('a NaN in A: every kernel counts exactly the n non-finite elements of its row of C', async () => {
    const [m, k, n] = [70, 300, 1234];
    const a = randomMatrix(m, k, 7);
    a[37 * k + 123] = Number.NaN;
    const res = await run({ m, k, n, a, b: randomMatrix(k, n, 8) });
    for (const r of res.kernels) {
      assert.equal(r.ok, false, `${r.id} passed a NaN output`);
      assert.equal(r.errorCode, 'WRONG_RESULT');
      assert.match(r.error!, new RegExp(`^first timed run: ${n} elements are NaN/Inf .*; last timed run: ${n} elements`));
      assert.ok(r.relErrFrobenius! <= barOf(r.id).relFrobenius, `${r.id}: the finite rows ${r.relErrFrobenius}`);
    }
  });

  it('without the switch the same call passes', async () => {
    check(await run({ m: 8193, k: 65536, n: 512, runs: 1, warmup: 0, kernels: ['esmm'], synthetic: { mode: 'joint', density: 1 } }), 'no fault');
  });
});

describe('recoverable errors leave the backend working', { skip }, () => {
  const ok = async () => check(await run({ m: 65, k: 70, n: 99, synthetic: { mode: 'joint', density: 0.5 } }), 'after error');

  it('an absurd size rejects with OUT_OF_MEMORY, then a call works', async (t) => {
    const side = 46340; // each matrix just under 2³¹ elements
    const kernels = ['cublas', 'cublas-bf16', 'esmm'].filter((id) => info.kernels.cuda!.includes(id));
    // A, B, C in float32 and float64, plus bf16 copies of A and B when that baseline runs.
    const needed = side * side * (3 * 4 + 3 * 8 + (kernels.includes('cublas-bf16') ? 2 * 2 : 0));
    const total = native.devices()[0]!.totalMemoryBytes;
    if (total >= needed) {
      t.skip(`device has ${total} bytes, this size needs ${needed}`);
      return;
    }
    await assert.rejects(
      native.benchmark({
        backend: 'cuda', m: side, k: side, n: side, seed: 1, synthetic: { mode: 'joint', density: 1 },
        kernels, warmup: 0, runs: 1, l2: 'cold',
      }),
      (err: unknown) => err instanceof EsmmError && err.code === 'OUT_OF_MEMORY' && /needs [\d.]+ GiB/.test(err.message),
    );
    await ok();
  });

  it('a missing device rejects with NO_DEVICE, then a call works', async () => {
    await assert.rejects(
      run({ m: 8, k: 8, n: 8, device: 99, synthetic: { mode: 'joint', density: 1 } }),
      (err: unknown) => err instanceof EsmmError && err.code === 'NO_DEVICE',
    );
    await ok();
  });

  it('devices() describes the card', () => {
    const d = native.devices()[0]!;
    assert.ok(d.name.length > 0);
    assert.match(d.computeCapability, /^\d+\.\d+$/);
    assert.ok(d.smCount > 0 && d.totalMemoryBytes > 2 ** 30 && d.l2CacheBytes > 0);
  });
});
