/**
 * The RMS of every (row tile, column) segment of x [rows, cols]: entry [tile · cols + k] is the
 * RMS of x[tile·tileRows … , k] over the tile's rows (the last tile may be shorter).
 */
export function tileColumnRms(x: Float32Array, rows: number, cols: number, tileRows: number): Float64Array {
  const tiles = Math.ceil(rows / tileRows);
  const out = new Float64Array(tiles * cols);
  for (let tile = 0; tile < tiles; tile++) {
    const r0 = tile * tileRows;
    const r1 = Math.min(rows, r0 + tileRows);
    for (let r = r0; r < r1; r++) for (let k = 0; k < cols; k++) out[tile * cols + k] += x[r * cols + k] ** 2;
    for (let k = 0; k < cols; k++) out[tile * cols + k] = Math.sqrt(out[tile * cols + k] / (r1 - r0));
  }
  return out;
}
