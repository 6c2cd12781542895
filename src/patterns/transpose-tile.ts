/** Cache-friendly tile edge for the transpose; 64×64 floats fit in L1 twice over. */
export const TRANSPOSE_TILE = 64;

/**
 * out = dataᵀ for the output rows [c0, c1) (= input columns), tiled so both the strided
 * reads and the sequential writes stay in cache. Returns the zeros (±0) seen in those columns.
 */
export function transposeColumns(data: Float32Array, out: Float32Array, rows: number, cols: number, c0: number, c1: number): number {
  let zeros = 0;
  for (let t0 = c0; t0 < c1; t0 += TRANSPOSE_TILE) {
    const t1 = Math.min(c1, t0 + TRANSPOSE_TILE);
    for (let r0 = 0; r0 < rows; r0 += TRANSPOSE_TILE) {
      const r1 = Math.min(rows, r0 + TRANSPOSE_TILE);
      for (let c = t0; c < t1; c++) {
        let dst = c * rows + r0;
        for (let src = r0 * cols + c, end = r1 * cols; src < end; src += cols) {
          const v = data[src];
          if (v === 0) zeros++;
          out[dst++] = v;
        }
      }
    }
  }
  return zeros;
}
