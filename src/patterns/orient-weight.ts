import type { Orientation } from '../weights/types.js';
import { transposeParallel } from './transpose-pool.js';
import { transposeColumns } from './transpose-tile.js';

export interface OrientedB {
  /** B, K×N row-major. */
  b: Float32Array;
  k: number;
  n: number;
}

/**
 * B from a weight stored [rows, cols] (DESIGN.md "Orientation"): `linear` uses Wᵀ
 * (K = cols = in_features, N = rows = out_features), `raw` uses W as stored (K = rows).
 */
export function orientWeight(data: Float32Array, rows: number, cols: number, orientation: Orientation): OrientedB {
  checkSize(data, rows, cols);
  if (orientation === 'raw') return { b: data, k: rows, n: cols };
  const out = new Float32Array(rows * cols);
  transposeColumns(data, out, rows, cols, 0, cols);
  return { b: out, k: cols, n: rows };
}

/** orientWeight off the main thread for large weights, with the zero count of W on the way. */
export async function orientWeightAsync(
  data: Float32Array,
  rows: number,
  cols: number,
  orientation: Orientation,
): Promise<OrientedB & { zeros: number }> {
  checkSize(data, rows, cols);
  if (orientation === 'raw') return { b: data, k: rows, n: cols, zeros: countZeros(data) };
  const { out, zeros } = await transposeParallel(data, rows, cols);
  return { b: out, k: cols, n: rows, zeros };
}

function checkSize(data: Float32Array, rows: number, cols: number): void {
  if (data.length !== rows * cols) {
    throw new RangeError(`orientWeight: ${data.length} values for a ${rows}×${cols} tensor`);
  }
}

function countZeros(data: Float32Array): number {
  let zero = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) zero++;
  return zero;
}

/** Fraction of elements that are exactly zero (±0); NaN counts as nonzero. */
export function elementSparsity(data: Float32Array): number {
  return data.length === 0 ? 0 : countZeros(data) / data.length;
}
