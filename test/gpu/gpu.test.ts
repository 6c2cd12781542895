/**
 * The GPU suite: ESMM against the float64 reference and cuBLAS, GPU patterns against the CPU
 * reference, and recovery after errors. Skipped, with the reason printed, without a CUDA device.
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
const KERNELS = haveCublas ? ['cublas', 'esmm'] : ['esmm'];

/**
 * ‖C − C64‖_F / ‖C64‖_F bound for every shape, K = 65536 included (measured on H100: ESMM ≤ 1.2e-6,
 * cuBLAS SGEMM ≤ 7e-7 over this suite); ESMM must also stay about as accurate as cuBLAS.
 */
const TOLERANCE = 1e-5;

/** Worst errors seen per test, printed as test diagnostics so the logs carry the numbers. */
const worst = { esmm: 0, cublas: 0, vsCublas: 0 };

function report(t: { diagnostic: (msg: string) => void }): void {
  t.diagnostic(
    `worst rel err vs float64: esmm ${worst.esmm.toExponential(2)}` +
      (haveCublas ? `, cublas ${worst.cublas.toExponential(2)}; worst max err esmm vs cublas ${worst.vsCublas.toExponential(2)}` : ''),
  );
  Object.assign(worst, { esmm: 0, cublas: 0, vsCublas: 0 });
}

function check(res: BenchmarkResult, what: string): void {
  const esmm = res.kernels.find((r) => r.id === 'esmm') as KernelResult;
  worst.esmm = Math.max(worst.esmm, esmm.relErrFrobenius ?? Infinity);
  assert.equal(esmm.ok, true, `${what}: esmm failed: ${esmm.error}`);
  assert.ok(esmm.relErrFrobenius! <= TOLERANCE, `${what}: esmm rel err ${esmm.relErrFrobenius}`);
  assert.ok(esmm.time!.samples.length > 0);
  const cublas = res.kernels.find((r) => r.id === 'cublas');
  if (cublas) {
    assert.equal(cublas.ok, true, `${what}: cublas failed: ${cublas.error}`);
    worst.cublas = Math.max(worst.cublas, cublas.relErrFrobenius!);
    worst.vsCublas = Math.max(worst.vsCublas, esmm.maxAbsErrRelVsCublas!);
    assert.ok(
      esmm.relErrFrobenius! <= 3 * cublas.relErrFrobenius! + 1e-6,
      `${what}: esmm ${esmm.relErrFrobenius} vs cublas ${cublas.relErrFrobenius}`,
    );
    assert.ok(esmm.maxAbsErrRelVsCublas! <= TOLERANCE, `${what}: vs cublas ${esmm.maxAbsErrRelVsCublas}`);
  }
}

function run(p: Partial<BenchmarkParams> & Pick<BenchmarkParams, 'm' | 'k' | 'n'>): Promise<BenchmarkResult> {
  return native.benchmark({ backend: 'cuda', seed: 1, kernels: KERNELS, warmup: 1, runs: 2, l2: 'hot', ...p });
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

describe('esmm on the gpu equals the float64 reference and cuBLAS', { skip }, () => {
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
    }
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
