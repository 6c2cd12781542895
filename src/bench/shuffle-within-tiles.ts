/**
 * A random mask of the same density per tile: the entries of every tileRows × tileCols block of
 * x [rows, cols] are permuted at random inside their block (Fisher–Yates), so each block keeps
 * its nonzero count and values while where they sit becomes random. The control for a real
 * sparsity pattern.
 */
export function shuffleWithinTiles(x: Float32Array, rows: number, cols: number, tileRows: number, tileCols: number, rand: () => number): Float32Array {
  const y = x.slice();
  const idx: number[] = [];
  for (let r0 = 0; r0 < rows; r0 += tileRows) {
    for (let c0 = 0; c0 < cols; c0 += tileCols) {
      idx.length = 0;
      for (let r = r0; r < Math.min(rows, r0 + tileRows); r++) for (let c = c0; c < Math.min(cols, c0 + tileCols); c++) idx.push(r * cols + c);
      for (let i = idx.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = y[idx[i]];
        y[idx[i]] = y[idx[j]];
        y[idx[j]] = t;
      }
    }
  }
  return y;
}
