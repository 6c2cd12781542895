import { closeSync, openSync, readSync } from 'node:fs';

import { BadFileError } from '../errors.js';
import { dtypeBytes } from './dtypes.js';
import { HALF_SCAN_MAX_COLS, halfScanKernels } from './half-scan-wasm.js';
import { readTensorF32 } from './read-tensor-f32.js';
import { SparsityCounter, type SparsityCounts } from './sparsity-counter.js';
import { isContiguous, type TensorLocation } from './tensor-location.js';

/**
 * Bytes per read while scanning: small enough that the chunk is still in the CPU cache when
 * it is counted (the same reason `cat` reads 128 KiB at a time), large enough to keep the
 * syscall count low. Reads are synchronous, so the event loop is given a turn every
 * YIELD_BYTES.
 */
export const SCAN_CHUNK_BYTES = 512 * 1024;
const YIELD_BYTES = 64 * 1024 * 1024;

/**
 * Zero and block counts of a 2-D float tensor, streamed from its raw stored words: 16- and
 * 32-bit floats are never converted (a float is zero exactly when its bits without the sign
 * are), so the scan runs at close to the speed of reading the file. Strided views, f64 and
 * big-endian data go through readTensorF32 instead.
 */
export async function scanTensorSparsity(loc: TensorLocation): Promise<SparsityCounts> {
  const [rows, cols] = loc.shape;
  const counter = new SparsityCounter(rows, cols);
  const size = dtypeBytes(loc.dtype) as number;
  const direct = (size === 2 || size === 4) && !loc.bigEndian && isContiguous(loc) && loc.shape.length === 2;
  if (!direct || rows * cols === 0) {
    const data = await readTensorF32(loc);
    counter.addRowsF32Bits(new Uint32Array(data.buffer, data.byteOffset, data.length), rows);
    return counter.counts();
  }
  const rowBytes = cols * size;
  // Whole rows per chunk, and a multiple of 32 so every chunk after the first is band-aligned.
  const rowsPerChunk = Math.max(32, Math.floor(SCAN_CHUNK_BYTES / rowBytes / 32) * 32);
  const chunkBytes = rowsPerChunk * rowBytes;
  const groups = cols / 8;
  const simd =
    size === 2 && cols % 8 === 0 && cols <= HALF_SCAN_MAX_COLS ? halfScanKernels(chunkBytes + 32 * groups) : null;
  // With the SIMD kernels the chunk lives in WebAssembly memory and is read straight into it.
  const arena = simd ? simd.memory.buffer : new ArrayBuffer(chunkBytes);
  const qAt = chunkBytes;
  const linAt = qAt + 16 * groups;
  let zeros = 0;
  let zeroBlocksLinear = 0;
  let zeroBlocksRaw = 0;
  const pairs = size === 2 && SparsityCounter.pairPathFits(cols);
  const fd = openSync(loc.file, 'r');
  try {
    const start = loc.storageByteOffset + loc.storageOffset * size;
    let sinceYield = 0;
    for (let first = 0; first < rows; first += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - first);
      const want = n * rowBytes;
      const bytes = new Uint8Array(arena, 0, want);
      let done = 0;
      while (done < want) {
        const got = readSync(fd, bytes, done, want - done, start + first * rowBytes + done);
        if (got === 0) throw new BadFileError(loc.file, `file ends inside tensor "${loc.name}"`);
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
      sinceYield += want;
      if (sinceYield >= YIELD_BYTES) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    closeSync(fd);
  }
  if (!simd) return counter.counts();
  return {
    rows,
    cols,
    zeros,
    zeroBlocksLinear,
    blocksLinear: Math.ceil(rows / 32) * groups,
    zeroBlocksRaw,
    blocksRaw: Math.ceil(rows / 8) * Math.ceil(cols / 32),
  };
}
