/**
 * Streaming element and 8×32 block zero counts of a row-major rows×cols matrix, fed whole
 * rows in order. 'linear' blocks (B = Wᵀ) are 32 rows × 8 columns of W; 'raw' blocks (B = W)
 * are 8 rows × 32 columns. Ragged edge tiles count as tiles. NaN and ±Inf count as nonzero,
 * ±0 as zero, exactly as the pattern kernels decide.
 */
export interface SparsityCounts {
  rows: number;
  cols: number;
  zeros: number;
  zeroBlocksLinear: number;
  blocksLinear: number;
  zeroBlocksRaw: number;
  blocksRaw: number;
}

const LINEAR_BAND = 32;
const RAW_BAND = 8;

/** Sign-free magnitude mask of a float32 word. */
const F32_MASK = 0x7fffffff;

export class SparsityCounter {
  readonly rows: number;
  readonly cols: number;
  private row = 0;
  private nonzero = 0;
  private zeroBlocksLinear = 0;
  private zeroBlocksRaw = 0;
  /** Per 8-column group: any nonzero in the current 32-row band. */
  private readonly lin: Uint8Array;
  /** Per 32-column group: any nonzero in the current 8-row band. */
  private readonly raw: Uint8Array;

  constructor(rows: number, cols: number) {
    this.rows = rows;
    this.cols = cols;
    this.lin = new Uint8Array(Math.ceil(cols / 8));
    this.raw = new Uint8Array(Math.ceil(cols / 32));
  }

  private endRow(): void {
    this.row++;
    if (this.row % LINEAR_BAND === 0 || this.row === this.rows) {
      const lin = this.lin;
      let z = 0;
      for (let g = 0; g < lin.length; g++) z += lin[g] ^ 1;
      this.zeroBlocksLinear += z;
      lin.fill(0);
    }
    if (this.row % RAW_BAND === 0 || this.row === this.rows) {
      const raw = this.raw;
      let z = 0;
      for (let g = 0; g < raw.length; g++) z += raw[g] ^ 1;
      this.zeroBlocksRaw += z;
      raw.fill(0);
    }
  }

  /** Rows of 16-bit floats (bf16 or f16: the sign is bit 15 in both). */
  addRowsHalf(halves: Uint16Array, nRows: number): void {
    this.addRowsMasked(halves, nRows, 0x7fff);
  }

  /** Rows of float32 bit patterns. */
  addRowsF32Bits(words: Uint32Array, nRows: number): void {
    this.addRowsMasked(words, nRows, F32_MASK);
  }

  private addRowsMasked(v: Uint16Array | Uint32Array, nRows: number, mask: number): void {
    const cols = this.cols;
    const lin = this.lin;
    const raw = this.raw;
    let p = 0;
    for (let r = 0; r < nRows; r++) {
      let nz = 0;
      for (let c = 0; c < cols; c++) {
        if ((v[p + c] & mask) !== 0) {
          nz++;
          lin[c >> 3] = 1;
          raw[c >> 5] = 1;
        }
      }
      p += cols;
      this.nonzero += nz;
      this.endRow();
    }
  }

  counts(): SparsityCounts {
    if (this.row !== this.rows) throw new Error(`sparsity counter saw ${this.row} of ${this.rows} rows`);
    return {
      rows: this.rows,
      cols: this.cols,
      zeros: this.rows * this.cols - this.nonzero,
      zeroBlocksLinear: this.zeroBlocksLinear,
      blocksLinear: Math.ceil(this.rows / LINEAR_BAND) * Math.ceil(this.cols / 8),
      zeroBlocksRaw: this.zeroBlocksRaw,
      blocksRaw: Math.ceil(this.rows / RAW_BAND) * Math.ceil(this.cols / 32),
    };
  }
}

export interface SparsityFractions {
  elementSparsity: number;
  blockSparsityLinear: number;
  blockSparsityRaw: number;
}

export function fractionsOf(c: SparsityCounts): SparsityFractions {
  const n = c.rows * c.cols;
  return {
    elementSparsity: n === 0 ? 0 : c.zeros / n,
    blockSparsityLinear: c.blocksLinear === 0 ? 0 : c.zeroBlocksLinear / c.blocksLinear,
    blockSparsityRaw: c.blocksRaw === 0 ? 0 : c.zeroBlocksRaw / c.blocksRaw,
  };
}
