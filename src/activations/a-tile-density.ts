/**
 * The share of (32-row tile, k) column segments of A [rows, cols] that hold a nonzero: the
 * density of A's pattern bits, which is what ESMM's joint skipping sees on the A side.
 */
export function aTileDensity(x: Float32Array, rows: number, cols: number, tileRows = 32): number {
  const tiles = Math.ceil(rows / tileRows);
  let set = 0;
  for (let tile = 0; tile < tiles; tile++) {
    const r1 = Math.min(rows, (tile + 1) * tileRows);
    for (let k = 0; k < cols; k++) {
      for (let r = tile * tileRows; r < r1; r++) {
        if (x[r * cols + k] !== 0) {
          set++;
          break;
        }
      }
    }
  }
  return tiles * cols === 0 ? 0 : set / (tiles * cols);
}
