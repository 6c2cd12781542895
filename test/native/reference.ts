/** DESIGN.md's pattern semantics and a seeded PRNG, written element by element, for the native tests. */

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface MatrixOptions {
  /** Probability that an element is zero. */
  zeroFraction?: number;
  /** Probability that a whole (32-row or 32-col tile, k) group is zeroed, along `tileAxis`. */
  groupZeroFraction?: number;
  tileAxis?: 'rows' | 'cols';
  /** Probability that an element is NaN. */
  nanFraction?: number;
}

export function randomMatrix(rows: number, cols: number, seed: number, opts: MatrixOptions = {}): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) {
    const u = rand();
    out[i] = u < (opts.zeroFraction ?? 0) ? 0 : rand() * 2 - 1;
    if (opts.nanFraction && rand() < opts.nanFraction) out[i] = Number.NaN;
  }
  if (opts.groupZeroFraction) {
    // Group = 32 rows × one column (A) or one row × 32 columns (B).
    if (opts.tileAxis === 'rows') {
      for (let t = 0; t * 32 < rows; t++) {
        for (let c = 0; c < cols; c++) {
          if (rand() >= opts.groupZeroFraction) continue;
          for (let r = t * 32; r < Math.min(rows, t * 32 + 32); r++) out[r * cols + c] = 0;
        }
      }
    } else {
      for (let r = 0; r < rows; r++) {
        for (let t = 0; t * 32 < cols; t++) {
          if (rand() >= opts.groupZeroFraction) continue;
          out.fill(0, r * cols + t * 32, r * cols + Math.min(cols, t * 32 + 32));
        }
      }
    }
  }
  return out;
}

/** A patterns of A (M×K): aPat[mTile * slices + s] bit j ⇔ some row of the tile has A[r][s*8+j] ≠ 0 (NaN counts). */
export function aPatternsTs(a: Float32Array, m: number, k: number): Uint8Array {
  const slices = Math.ceil(k / 8);
  const out = new Uint8Array(Math.ceil(m / 32) * slices);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < k; c++) {
      if (a[r * k + c] !== 0) out[Math.floor(r / 32) * slices + Math.floor(c / 8)] |= 1 << c % 8;
    }
  }
  return out;
}

/** B patterns of B (K×N): bPat[nTile * slices + s] bit j ⇔ some column of the tile has B[s*8+j][c] ≠ 0. */
export function bPatternsTs(b: Float32Array, k: number, n: number): Uint8Array {
  const slices = Math.ceil(k / 8);
  const out = new Uint8Array(Math.ceil(n / 32) * slices);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      if (b[r * n + c] !== 0) out[Math.floor(c / 32) * slices + Math.floor(r / 8)] |= 1 << r % 8;
    }
  }
  return out;
}

/** Fraction of (mTile, nTile, slice) with aPat & bPat == 0. */
export function skippedFractionTs(aPat: Uint8Array, bPat: Uint8Array, m: number, n: number, k: number): number {
  const slices = Math.ceil(k / 8);
  const mTiles = Math.ceil(m / 32);
  const nTiles = Math.ceil(n / 32);
  let skipped = 0;
  for (let mt = 0; mt < mTiles; mt++) {
    for (let nt = 0; nt < nTiles; nt++) {
      for (let s = 0; s < slices; s++) if ((aPat[mt * slices + s]! & bPat[nt * slices + s]!) === 0) skipped++;
    }
  }
  return skipped / (mTiles * nTiles * slices);
}
