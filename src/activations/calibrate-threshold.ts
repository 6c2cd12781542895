import type { Sparsifier } from './parse-sparsifier.js';
import { tileColumnRms } from './tile-column-rms.js';

/**
 * The per-layer threshold that zeroes a fraction s of one layer's input (TEAL's calibration):
 * for `teal`, a magnitude t such that ⌈s·n⌉ entries have |x| ≤ t; for `block`, the same on the
 * RMS of each (32-token tile, k) column segment. −1 (nothing zeroed) for s = 0 and for `native`.
 */
export function calibrateThreshold(x: Float32Array, rows: number, cols: number, sparsifier: Sparsifier): number {
  if (sparsifier.method === 'native' || sparsifier.sparsity === 0) return -1;
  const values = sparsifier.method === 'teal' ? Float64Array.from(x, Math.abs) : tileColumnRms(x, rows, cols, sparsifier.tileRows);
  values.sort();
  const drop = Math.ceil(sparsifier.sparsity * values.length);
  return drop === 0 ? -1 : values[drop - 1];
}
