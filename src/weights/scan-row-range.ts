import { closeSync, openSync, readSync } from 'node:fs';

import { BadFileError } from '../errors.js';
import { HALF_SCAN_MAX_COLS, halfScanKernels } from './half-scan-wasm.js';
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
 * Counts zeros and zero 8×32 blocks of a row range straight from the stored words: a float
 * is zero exactly when its bits without the sign are, so nothing is converted. Synchronous
 * reads into a cache-sized chunk; meant for a worker thread or for slices small enough not
 * to stall the event loop.
 */
export function scanRowRangeSync(task: RowRangeTask): RowRangeCounts {
  const { rows, cols, elementBytes: size } = task;
  const rowBytes = cols * size;
  // Whole rows per chunk, a multiple of 32 so every chunk starts a linear band.
  const rowsPerChunk = Math.max(32, Math.floor(SCAN_CHUNK_BYTES / rowBytes / 32) * 32);
  const chunkBytes = Math.min(rowsPerChunk, rows) * rowBytes;
  const groups = cols / 8;
  const simd = size === 2 && cols % 8 === 0 && cols <= HALF_SCAN_MAX_COLS ? halfScanKernels(chunkBytes + 32 * groups) : null;
  // With the SIMD kernels the chunk lives in WebAssembly memory and is read straight into it.
  const arena = simd ? simd.memory.buffer : new ArrayBuffer(chunkBytes);
  const qAt = chunkBytes;
  const linAt = qAt + 16 * groups;
  // The kernels' memory is reused across calls; a call that failed midway may leave flags set.
  if (simd) new Uint8Array(arena, qAt, 32 * groups).fill(0);
  const counter = new SparsityCounter(rows, cols);
  const pairs = size === 2 && SparsityCounter.pairPathFits(cols);
  let zeros = 0;
  let zeroBlocksLinear = 0;
  let zeroBlocksRaw = 0;
  const fd = openSync(task.file, 'r');
  try {
    for (let first = 0; first < rows; first += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - first);
      const want = n * rowBytes;
      const bytes = new Uint8Array(arena, 0, want);
      for (let done = 0; done < want; ) {
        const got = readSync(fd, bytes, done, want - done, task.byteStart + first * rowBytes + done);
        if (got === 0) throw new BadFileError(task.file, `file ends inside tensor "${task.tensor}"`);
        done += got;
      }
      if (simd) {
        for (let r = 0; r < n; r += 8) {
          const k = Math.min(8, n - r);
          zeros += simd.rows16(r * rowBytes, k, groups, qAt);
          zeroBlocksRaw += simd.flush8(qAt, linAt, groups);
          if ((r + k) % 32 === 0 || first + r + k === rows) zeroBlocksLinear += simd.flush32(linAt, groups);
        }
      } else if (size === 4) counter.addRowsF32Bits(new Uint32Array(arena, 0, n * cols), n);
      else if (pairs) counter.addRowsHalfPairs(new Uint32Array(arena, 0, (n * cols) / 2), n);
      else counter.addRowsHalf(new Uint16Array(arena, 0, n * cols), n);
    }
  } finally {
    closeSync(fd);
  }
  if (simd) return { zeros, zeroBlocksLinear, zeroBlocksRaw };
  const c = counter.counts();
  return { zeros: c.zeros, zeroBlocksLinear: c.zeroBlocksLinear, zeroBlocksRaw: c.zeroBlocksRaw };
}
