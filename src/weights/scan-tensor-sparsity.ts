import { dtypeBytes } from './dtypes.js';
import { readTensorF32 } from './read-tensor-f32.js';
import type { ScanPool } from './scan-pool.js';
import { scanRowRangeSync, type RowRangeCounts, type RowRangeTask } from './scan-row-range.js';
import { SparsityCounter, type SparsityCounts } from './sparsity-counter.js';
import { isContiguous, type TensorLocation } from './tensor-location.js';

/** Rows are handed out in slices of about this many bytes: one event-loop turn, or one worker task. */
export const SCAN_SLICE_BYTES = 8 * 1024 * 1024;

export interface ScanTensorOptions {
  /** Spreads the slices over worker threads; without it they run here, yielding between slices. */
  pool?: ScanPool;
  /** Slice size; default SCAN_SLICE_BYTES. */
  sliceBytes?: number;
}

/**
 * Zero and 8×32 block counts of a 2-D float tensor, streamed from its raw stored words (see
 * scanRowRangeSync). Strided views, f64 and big-endian data go through readTensorF32 instead.
 */
export async function scanTensorSparsity(loc: TensorLocation, options: ScanTensorOptions = {}): Promise<SparsityCounts> {
  const [rows, cols] = loc.shape;
  const size = dtypeBytes(loc.dtype);
  const blocks = {
    rows,
    cols,
    blocksLinear: Math.ceil(rows / 32) * Math.ceil(cols / 8),
    blocksRaw: Math.ceil(rows / 8) * Math.ceil(cols / 32),
  };
  const direct = (size === 2 || size === 4) && !loc.bigEndian && loc.shape.length === 2 && isContiguous(loc);
  if (!direct || rows * cols === 0) {
    const counter = new SparsityCounter(rows, cols);
    const data = await readTensorF32(loc);
    counter.addRowsF32Bits(new Uint32Array(data.buffer, data.byteOffset, data.length), rows);
    return counter.counts();
  }
  const rowBytes = cols * size;
  // Slices start on 32-row boundaries so each one holds whole blocks of both orientations.
  const sliceRows = Math.max(32, Math.floor((options.sliceBytes ?? SCAN_SLICE_BYTES) / rowBytes / 32) * 32);
  const tasks: RowRangeTask[] = [];
  for (let first = 0; first < rows; first += sliceRows) {
    tasks.push({
      file: loc.file,
      byteStart: loc.storageByteOffset + loc.storageOffset * size + first * rowBytes,
      rows: Math.min(sliceRows, rows - first),
      cols,
      elementBytes: size,
      tensor: loc.name,
    });
  }
  let parts: RowRangeCounts[];
  if (options.pool && tasks.length > 1) {
    parts = await Promise.all(tasks.map((t) => options.pool?.run(t) as Promise<RowRangeCounts>));
  } else {
    parts = [];
    for (const t of tasks) {
      parts.push(scanRowRangeSync(t));
      // Each slice blocks for a few milliseconds; let timers and I/O in between.
      if (tasks.length > 1) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return {
    ...blocks,
    zeros: parts.reduce((a, p) => a + p.zeros, 0),
    zeroBlocksLinear: parts.reduce((a, p) => a + p.zeroBlocksLinear, 0),
    zeroBlocksRaw: parts.reduce((a, p) => a + p.zeroBlocksRaw, 0),
  };
}
