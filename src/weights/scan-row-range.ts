import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

import { BadFileError } from '../errors.js';
import { acquireHalfScanKernels, HALF_SCAN_MAX_COLS, releaseHalfScanKernels, type HalfScanKernels } from './half-scan-wasm.js';
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
 * bits without the sign are, so nothing is converted. `buffers` chunk buffers live in one
 * arena (WebAssembly memory for the BF16/F16 SIMD kernels) so reads land where they are counted.
 */
class RangeCounter {
  readonly rowsPerChunk: number;
  readonly rowBytes: number;
  private readonly chunkBytes: number;
  private readonly groups: number;
  private readonly simd: HalfScanKernels | null;
  private readonly arena: ArrayBuffer;
  private readonly linAt: number;
  private readonly outWord: Int32Array;
  private readonly counter: SparsityCounter;
  private readonly pairs: boolean;
  private zeros = 0;
  private zeroBlocksLinear = 0;
  private zeroBlocksRaw = 0;

  constructor(
    private readonly task: RowRangeTask,
    buffers: number,
  ) {
    const { rows, cols, elementBytes: size } = task;
    this.rowBytes = cols * size;
    // Whole rows per chunk, a multiple of 32 so every chunk starts a linear band.
    this.rowsPerChunk = Math.max(32, Math.floor(SCAN_CHUNK_BYTES / this.rowBytes / 32) * 32);
    this.chunkBytes = Math.min(this.rowsPerChunk, rows) * this.rowBytes;
    this.groups = cols / 8;
    const arenaBytes = buffers * this.chunkBytes;
    this.simd =
      size === 2 && cols % 8 === 0 && cols <= HALF_SCAN_MAX_COLS ? acquireHalfScanKernels(arenaBytes + 16 * this.groups + 16) : null;
    this.arena = this.simd ? this.simd.memory.buffer : new ArrayBuffer(arenaBytes);
    this.linAt = arenaBytes;
    this.outWord = this.simd ? new Int32Array(this.arena, this.linAt + 16 * this.groups, 1) : new Int32Array(1);
    // Reused memory: a scan that failed midway may have left flags set.
    if (this.simd) new Uint8Array(this.arena, this.linAt, 16 * this.groups).fill(0);
    this.counter = new SparsityCounter(rows, cols);
    this.pairs = size === 2 && SparsityCounter.pairPathFits(cols);
  }

  /** Rows in the chunk starting at row `first`. */
  rowsAt(first: number): number {
    return Math.min(this.rowsPerChunk, this.task.rows - first);
  }

  /** Where chunk buffer `which` receives the bytes of `n` rows. */
  buffer(which: number, n: number): Uint8Array {
    return new Uint8Array(this.arena, which * this.chunkBytes, n * this.rowBytes);
  }

  count(which: number, first: number, n: number): void {
    const at = which * this.chunkBytes;
    const { cols, rows } = this.task;
    const simd = this.simd;
    if (simd) {
      for (let r = 0; r < n; r += 8) {
        const k = Math.min(8, n - r);
        this.zeros += simd.band16(at + r * this.rowBytes, k, this.rowBytes, this.groups, this.linAt, this.linAt + 16 * this.groups);
        this.zeroBlocksRaw += this.outWord[0];
        if ((r + k) % 32 === 0 || first + r + k === rows) this.zeroBlocksLinear += simd.flush32(this.linAt, this.groups);
      }
    } else if (this.task.elementBytes === 4) this.counter.addRowsF32Bits(new Uint32Array(this.arena, at, n * cols), n);
    else if (this.pairs) this.counter.addRowsHalfPairs(new Uint32Array(this.arena, at, (n * cols) / 2), n);
    else this.counter.addRowsHalf(new Uint16Array(this.arena, at, n * cols), n);
  }

  finish(): RowRangeCounts {
    if (this.simd) {
      releaseHalfScanKernels(this.simd);
      return { zeros: this.zeros, zeroBlocksLinear: this.zeroBlocksLinear, zeroBlocksRaw: this.zeroBlocksRaw };
    }
    const c = this.counter.counts();
    return { zeros: c.zeros, zeroBlocksLinear: c.zeroBlocksLinear, zeroBlocksRaw: c.zeroBlocksRaw };
  }

  truncated(): BadFileError {
    return new BadFileError(this.task.file, `file ends inside tensor "${this.task.tensor}"`);
  }
}

/** Synchronous reads, one chunk at a time: for worker threads. */
export function scanRowRangeSync(task: RowRangeTask): RowRangeCounts {
  const rc = new RangeCounter(task, 1);
  const fd = openSync(task.file, 'r');
  try {
    for (let first = 0; first < task.rows; first += rc.rowsPerChunk) {
      const n = rc.rowsAt(first);
      const bytes = rc.buffer(0, n);
      for (let done = 0; done < bytes.length; ) {
        const got = readSync(fd, bytes, done, bytes.length - done, task.byteStart + first * rc.rowBytes + done);
        if (got === 0) throw rc.truncated();
        done += got;
      }
      rc.count(0, first, n);
    }
  } finally {
    closeSync(fd);
  }
  return rc.finish();
}

/**
 * Two chunk buffers: the next chunk is read on libuv's thread pool while this thread counts
 * the current one, so copying out of the page cache and counting overlap on two cores.
 */
export async function scanRowRange(task: RowRangeTask): Promise<RowRangeCounts> {
  const rc = new RangeCounter(task, 2);
  const fh = await open(task.file, 'r');
  const read = async (first: number, which: number): Promise<void> => {
    const bytes = rc.buffer(which, rc.rowsAt(first));
    for (let done = 0; done < bytes.length; ) {
      const { bytesRead } = await fh.read(bytes, done, bytes.length - done, task.byteStart + first * rc.rowBytes + done);
      if (bytesRead === 0) throw rc.truncated();
      done += bytesRead;
    }
  };
  let pending: Promise<void> | undefined = read(0, 0);
  try {
    for (let first = 0, which = 0; first < task.rows; first += rc.rowsPerChunk, which ^= 1) {
      await pending;
      const next = first + rc.rowsPerChunk;
      pending = next < task.rows ? read(next, which ^ 1) : undefined;
      rc.count(which, first, rc.rowsAt(first));
    }
  } finally {
    // A read still in flight must finish before its buffer is reused or the file closed.
    await pending?.catch(() => undefined);
    await fh.close();
  }
  return rc.finish();
}
