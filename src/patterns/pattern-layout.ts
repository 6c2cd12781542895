/** The pattern layout of kernels/patterns.h, mirrored for the TypeScript side. */
export const BK = 8;
export const TILE = 32;

export function numKSlices(k: number): number {
  return Math.ceil(k / BK);
}

export function numTiles(n: number): number {
  return Math.ceil(n / TILE);
}

/** Bytes of the B patterns of a K×N matrix: one per (32-column tile, K-slice). */
export function bPatternBytes(k: number, n: number): number {
  return numTiles(n) * numKSlices(k);
}

/** Fraction of 8×32 blocks of B that are entirely zero (a zero pattern byte). */
export function blockSparsity(patterns: Uint8Array): number {
  if (patterns.length === 0) return 0;
  let zero = 0;
  for (let i = 0; i < patterns.length; i++) if (patterns[i] === 0) zero++;
  return zero / patterns.length;
}
