import { fractionsOf, SparsityCounter, type SparsityFractions } from './sparsity-counter.js';

/**
 * Element sparsity and the fraction of all-zero 8×32 pattern blocks of B, for B = Wᵀ
 * ('linear': blocks of 32 rows × 8 columns of W) and B = W ('raw': 8 rows × 32 columns).
 * `data` is row-major rows×cols; NaN counts as nonzero.
 */
export function tensorSparsity(data: Float32Array, rows: number, cols: number): SparsityFractions {
  if (data.length !== rows * cols) throw new RangeError(`data has ${data.length} elements, not ${rows}×${cols}`);
  const counter = new SparsityCounter(rows, cols);
  counter.addRowsF32Bits(new Uint32Array(data.buffer, data.byteOffset, data.length), rows);
  return fractionsOf(counter.counts());
}
