import type { Sparsifier } from './parse-sparsifier.js';
import { tileColumnRms } from './tile-column-rms.js';

/**
 * x [rows, cols] with the layer's threshold applied: `teal` zeroes entries with |x| ≤ t;
 * `block` zeroes each (tile, k) column segment whose RMS is ≤ t; `native` returns x unchanged.
 */
export function applySparsifier(x: Float32Array, rows: number, cols: number, sparsifier: Sparsifier, threshold: number): Float32Array {
  if (sparsifier.method === 'native' || threshold < 0) return x;
  const y = x.slice();
  if (sparsifier.method === 'teal') {
    for (let i = 0; i < y.length; i++) if (Math.abs(y[i]) <= threshold) y[i] = 0;
    return y;
  }
  const rms = tileColumnRms(x, rows, cols, sparsifier.tileRows);
  for (let r = 0; r < rows; r++) {
    const tile = Math.floor(r / sparsifier.tileRows);
    for (let k = 0; k < cols; k++) if (rms[tile * cols + k] <= threshold) y[r * cols + k] = 0;
  }
  return y;
}
