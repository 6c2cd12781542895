import { BK, TILE, numKSlices, numTiles } from './pattern-layout.js';

const F32_BYTES = 4;
const I32_BYTES = 4;
/** Side of a BSR block (rows of B × columns of B). */
const BSR_BLOCK = 32;
/** K-slices of 8 in one 32-row BSR block row. */
const SLICES_PER_BSR_ROW = BSR_BLOCK / BK;

/** Bytes a deployment stores for B (K×N float32) in three formats. */
export interface BMemoryBytes {
  /** K·N·4: B as a dense float32 matrix. */
  dense: number;
  /** ESMM's compressed form: every non-empty 8×32 block as 256 float32 values, plus the pattern bytes. */
  esmm: number;
  /** A 32×32 BSR of B: every non-empty 32×32 block as 1024 float32 values, an int32 column index per block, ⌈K/32⌉+1 int32 row pointers. */
  bsr32: number;
}

/**
 * Storage of B from its patterns (`bPat[nTile * numKSlices + s]`, kernels/patterns.h). A block
 * at a ragged edge counts as a full block: block formats store fixed-size blocks, padded.
 * A 32×32 block is non-empty when any of its four 8-row slices has a non-zero pattern byte.
 */
export function bMemoryBytes(patterns: Uint8Array, k: number, n: number): BMemoryBytes {
  const slices = numKSlices(k);
  const tiles = numTiles(n);
  const blockRows = Math.ceil(k / BSR_BLOCK);
  let esmmBlocks = 0;
  let bsrBlocks = 0;
  for (let t = 0; t < tiles; t++) {
    const base = t * slices;
    for (let r = 0; r < blockRows; r++) {
      let any = false;
      for (let s = r * SLICES_PER_BSR_ROW; s < Math.min(slices, (r + 1) * SLICES_PER_BSR_ROW); s++) {
        if (patterns[base + s] !== 0) {
          esmmBlocks++;
          any = true;
        }
      }
      if (any) bsrBlocks++;
    }
  }
  return {
    dense: k * n * F32_BYTES,
    esmm: esmmBlocks * BK * TILE * F32_BYTES + patterns.length,
    bsr32: bsrBlocks * (BSR_BLOCK * BSR_BLOCK * F32_BYTES + I32_BYTES) + (blockRows + 1) * I32_BYTES,
  };
}
