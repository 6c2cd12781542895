import type { Orientation } from '../weights/types.js';

export interface OrientedB {
  /** B, K×N row-major. */
  b: Float32Array;
  k: number;
  n: number;
}

/** Cache-friendly tile edge for the transpose; 64×64 floats fit in L1 twice over. */
const TRANSPOSE_TILE = 64;

/**
 * B from a weight stored [rows, cols] (DESIGN.md "Orientation"): `linear` uses Wᵀ
 * (K = cols = in_features, N = rows = out_features), `raw` uses W as stored (K = rows).
 */
export function orientWeight(data: Float32Array, rows: number, cols: number, orientation: Orientation): OrientedB {
  if (data.length !== rows * cols) {
    throw new RangeError(`orientWeight: ${data.length} values for a ${rows}×${cols} tensor`);
  }
  if (orientation === 'raw') return { b: data, k: rows, n: cols };
  const out = new Float32Array(rows * cols);
  // Tiled so both the strided reads and the sequential writes stay in cache.
  for (let c0 = 0; c0 < cols; c0 += TRANSPOSE_TILE) {
    const c1 = Math.min(cols, c0 + TRANSPOSE_TILE);
    for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
      const r1 = Math.min(rows, r0 + TRANSPOSE_TILE);
      for (let c = c0; c < c1; c++) {
        let dst = c * rows + r0;
        for (let src = r0 * cols + c, end = r1 * cols; src < end; src += cols) out[dst++] = data[src];
      }
    }
  }
  return { b: out, k: cols, n: rows };
}

/** Fraction of elements that are exactly zero (±0); NaN counts as nonzero. */
export function elementSparsity(data: Float32Array): number {
  if (data.length === 0) return 0;
  let zero = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) zero++;
  return zero / data.length;
}
