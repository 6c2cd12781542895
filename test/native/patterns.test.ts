import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadNative } from '../../src/native/index.js';
import { aPatternsTs, bPatternsTs, randomMatrix } from './reference.js';

const native = loadNative();

const SHAPES: Array<[number, number]> = [
  [1, 1],
  [1, 9],
  [7, 8],
  [31, 33],
  [32, 32],
  [33, 17],
  [64, 256],
  [100, 300],
  [257, 65],
];

async function both(data: Float32Array, rows: number, cols: number) {
  const a = await native.computePatterns({ data, rows, cols, operand: 'A', backend: 'cpu' });
  const b = await native.computePatterns({ data, rows, cols, operand: 'B', backend: 'cpu' });
  return { a, b };
}

describe('cpu patterns match DESIGN.md bit by bit', () => {
  for (const [rows, cols] of SHAPES) {
    it(`random sparse ${rows}×${cols}`, async () => {
      const data = randomMatrix(rows, cols, rows * 1000 + cols, { zeroFraction: 0.97 });
      const { a, b } = await both(data, rows, cols);
      assert.deepEqual(a, aPatternsTs(data, rows, cols));
      assert.deepEqual(b, bPatternsTs(data, rows, cols));
    });
  }

  it('block-sparse data along both tile axes', async () => {
    const [rows, cols] = [96, 200];
    for (const tileAxis of ['rows', 'cols'] as const) {
      const data = randomMatrix(rows, cols, 7, { groupZeroFraction: 0.6, tileAxis });
      const { a, b } = await both(data, rows, cols);
      assert.deepEqual(a, aPatternsTs(data, rows, cols));
      assert.deepEqual(b, bPatternsTs(data, rows, cols));
    }
  });

  it('all zero gives all-zero patterns', async () => {
    const { a, b } = await both(new Float32Array(45 * 70), 45, 70);
    assert.equal(a.length, 2 * 9);
    assert.equal(b.length, 3 * 6);
    assert.ok(a.every((x) => x === 0));
    assert.ok(b.every((x) => x === 0));
  });

  it('all dense sets every in-range bit and no bit past K', async () => {
    const [rows, cols] = [45, 70]; // A: K = 70 → last slice has 6 columns; B: K = 45 → 5 rows
    const { a, b } = await both(new Float32Array(rows * cols).fill(0.5), rows, cols);
    const aSlices = Math.ceil(cols / 8);
    for (let i = 0; i < a.length; i++) assert.equal(a[i], i % aSlices === aSlices - 1 ? 0b111111 : 0xff);
    const bSlices = Math.ceil(rows / 8);
    for (let i = 0; i < b.length; i++) assert.equal(b[i], i % bSlices === bSlices - 1 ? 0b11111 : 0xff);
  });

  it('NaN counts as nonzero; -0 does not', async () => {
    const [rows, cols] = [40, 20];
    const data = new Float32Array(rows * cols);
    data[35 * cols + 13] = Number.NaN; // A: tile 1, slice 1, bit 5; B: tile 0, slice 4, bit 3
    data[3 * cols + 2] = -0;
    const { a, b } = await both(data, rows, cols);
    assert.deepEqual([...a], [0, 0, 0, 0, 1 << 5, 0]);
    assert.deepEqual([...b], [0, 0, 0, 0, 1 << 3]);
    const noisy = randomMatrix(rows, cols, 3, { zeroFraction: 0.98, nanFraction: 0.01 });
    const r = await both(noisy, rows, cols);
    assert.deepEqual(r.a, aPatternsTs(noisy, rows, cols));
    assert.deepEqual(r.b, bPatternsTs(noisy, rows, cols));
  });

  it('rejects a data length that does not match the shape', async () => {
    await assert.rejects(
      native.computePatterns({ data: new Float32Array(10), rows: 3, cols: 4, operand: 'B', backend: 'cpu' }),
      (err: { code?: string }) => err.code === 'SHAPE',
    );
    await assert.rejects(
      native.computePatterns({ data: new Float32Array(0), rows: 0, cols: 4, operand: 'A', backend: 'cpu' }),
      (err: { code?: string }) => err.code === 'SHAPE',
    );
  });
});
