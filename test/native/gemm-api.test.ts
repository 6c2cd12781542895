/**
 * The native gemm's argument checks, which every build answers the same way (they run before the
 * backend is looked at), and its answer to a valid call: the product where cuBLAS and a device
 * are there, NO_BACKEND in a build without cuBLAS, NO_DEVICE without a GPU.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import type { GemmParams } from '../../src/native/types.js';

const native = loadNative();
// A [2×3], B [3×2]: C = [[4, 5], [10, 11]]. Bᵀ stored [2×3] for transB.
const base: GemmParams = { a: Float32Array.from([1, 2, 3, 4, 5, 6]), b: Float32Array.from([1, 0, 0, 1, 1, 1]), m: 2, k: 3, n: 2 };

async function rejects(params: unknown, code: string, message: RegExp): Promise<void> {
  await assert.rejects(native.gemm(params as GemmParams), (err: unknown) => {
    assert.ok(err instanceof EsmmError, `not an EsmmError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('native gemm: argument checks', () => {
  it('wants a params object with Float32Array operands', async () => {
    await rejects(undefined, 'USAGE', /^gemm expects a params object$/);
    await rejects({ ...base, a: [1, 2, 3, 4, 5, 6] }, 'USAGE', /^params\.a must be a Float32Array$/);
    await rejects({ ...base, b: new Float64Array(6) }, 'USAGE', /^params\.b must be a Float32Array$/);
    await rejects({ ...base, transB: 1 }, 'USAGE', /^params\.transB must be a boolean$/);
    await rejects({ ...base, device: -1 }, 'USAGE', /^params\.device = -1 must be an integer/);
  });

  it('checks the dimensions and the operand lengths against them', async () => {
    await rejects({ ...base, m: 0 }, 'SHAPE', /^params\.m = 0 must be an integer in \[1, 2147483647\]$/);
    await rejects({ ...base, k: 1.5 }, 'SHAPE', /^params\.k = 1\.5 must be an integer/);
    await rejects({ ...base, a: new Float32Array(5) }, 'SHAPE', /^params\.a has 5 elements; A \[m×k\] with m=2, k=3, n=2 needs 6$/);
    await rejects({ ...base, b: new Float32Array(7), transB: true }, 'SHAPE', /^params\.b has 7 elements; B \[n×k\] \(transB\) with m=2, k=3, n=2 needs 6$/);
    await rejects({ a: new Float32Array(1), b: new Float32Array(1), m: 65536, k: 65536, n: 1 }, 'SHAPE', /^A is 65536×65536 = 4294967296 elements, over the limit of 2147483647$/);
  });
});

describe('native gemm: a valid call', () => {
  const info = native.info();
  const usable = hasCuda(native) && info.cublas !== undefined;
  it(usable ? 'computes C = A·B and A·Bᵀ' : 'rejects with the reason it cannot run', async () => {
    if (usable) {
      assert.deepEqual([...(await native.gemm(base))], [4, 5, 10, 11]);
      const bT = Float32Array.from([1, 0, 1, 0, 1, 1]);
      assert.deepEqual([...(await native.gemm({ ...base, b: bT, transB: true }))], [4, 5, 10, 11]);
    } else if (info.cublas === undefined) {
      await rejects(base, 'NO_BACKEND', /gemm needs cuBLAS: this addon was built without it/);
    } else {
      await rejects(base, 'NO_DEVICE', /no CUDA device/);
    }
  });
});
