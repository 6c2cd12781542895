import { closeSync, openSync, readSync } from 'node:fs';

import { BadFileError } from '../errors.js';
import { acquireScanKernels, SCAN_KERNEL_MAX_COLS, releaseScanKernels, type ScanKernels } from './wasm-scan-kernels.js';
import { SparsityCounter } from './sparsity-counter.js';

/**
 * Bytes per read: small enough that the chunk is still in the CPU cache when it is counted
 * (the reason `cat` reads 128 KiB at a time), large enough to keep the syscall count low.
 */
export const SCAN_CHUNK_BYTES = 512 * 1024;

/** A run of whole rows of a contiguous little-endian 16- or 32-bit float matrix. */
export interface RowRangeTask {
  file: string;
  /** Absolute file offset of the first row. */
  byteStart: number;
  rows: number;
  cols: number;
  elementBytes: 2 | 4;
  /** Label for errors. */
  tensor: string;
}

/** Counts for a row range that starts on a 32-row boundary of its tensor and ends on one or at the tensor's end. */
export interface RowRangeCounts {
  zeros: number;
  zeroBlocksLinear: number;
  zeroBlocksRaw: number;
}

/**
 * Counts one row range chunk by chunk from the stored words: a float is zero exactly when its
 * bits without the sign are, so nothing is converted. With the SIMD kernels (column counts
 * that are a multiple of 8) the chunk buffer lives in WebAssembly memory, so reads land where
 * they are counted; other shapes take the scalar SparsityCounter.
 */
class RangeCounter {
  readonly rowsPerChunk: number;
  readonly rowBytes: number;
  private readonly chunkBytes: number;
  private readonly groups: number;
  private readonly simd: ScanKernels | null;
  private readonly arena: ArrayBuffer;
  private readonly linAt: number;
  private readonly outWord: Int32Array;
  private readonly counter: SparsityCounter;
  private zeros = 0;
  private zeroBlocksLinear = 0;
  private zeroBlocksRaw = 0;

  constructor(private readonly task: RowRangeTask) {
    const { rows, cols, elementBytes: size } = task;
    this.rowBytes = cols * size;
    // Whole rows per chunk, a multiple of 32 so every chunk starts a linear band.
    this.rowsPerChunk = Math.max(32, Math.floor(SCAN_CHUNK_BYTES / this.rowBytes / 32) * 32);
    this.chunkBytes = Math.min(this.rowsPerChunk, rows) * this.rowBytes;
    this.groups = cols / 8;
    const arenaBytes = this.chunkBytes;
    this.simd = cols % 8 === 0 && cols <= SCAN_KERNEL_MAX_COLS ? acquireScanKernels(arenaBytes + 16 * this.groups + 16) : null;
    this.arena = this.simd ? this.simd.memory.buffer : new ArrayBuffer(arenaBytes);
    this.linAt = arenaBytes;
    this.outWord = this.simd ? new Int32Array(this.arena, this.linAt + 16 * this.groups, 1) : new Int32Array(1);
    // Reused memory: a scan that failed midway may have left flags set.
    if (this.simd) new Uint8Array(this.arena, this.linAt, 16 * this.groups).fill(0);
    this.counter = new SparsityCounter(rows, cols);
  }

  /** Rows in the chunk starting at row `first`. */
  rowsAt(first: number): number {
    return Math.min(this.rowsPerChunk, this.task.rows - first);
  }

  /** Where the bytes of the next `n` rows are read to. */
  buffer(n: number): Uint8Array {
    return new Uint8Array(this.arena, 0, n * this.rowBytes);
  }

  /** Counts the `n` rows in the buffer, rows `first`… of the range. */
  count(first: number, n: number): void {
    const { cols, rows } = this.task;
    const simd = this.simd;
    if (simd) {
      for (let r = 0; r < n; r += 8) {
        const k = Math.min(8, n - r);
        const band = this.task.elementBytes === 2 ? simd.band16 : simd.band32;
        this.zeros += band(r * this.rowBytes, k, this.rowBytes, this.groups, this.linAt, this.linAt + 16 * this.groups);
        this.zeroBlocksRaw += this.outWord[0];
        if ((r + k) % 32 === 0 || first + r + k === rows) this.zeroBlocksLinear += simd.flush32(this.linAt, this.groups);
      }
    } else if (this.task.elementBytes === 4) this.counter.addRowsF32Bits(new Uint32Array(this.arena, 0, n * cols), n);
    else this.counter.addRowsHalf(new Uint16Array(this.arena, 0, n * cols), n);
  }

  finish(): RowRangeCounts {
    if (this.simd) {
      releaseScanKernels(this.simd);
      return { zeros: this.zeros, zeroBlocksLinear: this.zeroBlocksLinear, zeroBlocksRaw: this.zeroBlocksRaw };
    }
    const c = this.counter.counts();
    return { zeros: c.zeros, zeroBlocksLinear: c.zeroBlocksLinear, zeroBlocksRaw: c.zeroBlocksRaw };
  }

  truncated(): BadFileError {
    return new BadFileError(this.task.file, `file ends inside tensor "${this.task.tensor}"`);
  }
}

/**
 * Synchronous reads into one cache-sized chunk, counted before the next read. Measured faster
 * than overlapping asynchronous reads with counting: a thread-pool round trip per chunk costs
 * more than the copy it hides (docs/scan-throughput.md).
 */
export function scanRowRangeSync(task: RowRangeTask): RowRangeCounts {
  const rc = new RangeCounter(task);
  const fd = openSync(task.file, 'r');
  try {
    for (let first = 0; first < task.rows; first += rc.rowsPerChunk) {
      const n = rc.rowsAt(first);
      const bytes = rc.buffer(n);
      for (let done = 0; done < bytes.length; ) {
        const got = readSync(fd, bytes, done, bytes.length - done, task.byteStart + first * rc.rowBytes + done);
        if (got === 0) throw rc.truncated();
        done += got;
      }
      rc.count(first, n);
    }
  } finally {
    closeSync(fd);
  }
  return rc.finish();
}
