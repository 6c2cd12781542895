import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

import type { Orientation } from '../weights/types.js';
import { BK, TILE, bPatternBytes } from './pattern-layout.js';

/**
 * On-disk pattern file: a fixed little-endian header, then the B pattern bytes.
 *   0  magic "ESMMPAT\0"      8  u32 format version   12 u32 BK     16 u32 tile width
 *  20  u32 K                 24  u32 N               28 u8 orientation (0 linear, 1 raw), 3 reserved
 *  32  u64 pattern bytes     40  sha256 of the tensor's float32 bytes as stored (row-major)
 *  72  sha256 of the pattern bytes                    104 pattern bytes
 */
export const PATTERN_MAGIC = Buffer.from('ESMMPAT\0', 'latin1');
/** Bump when the header or the pattern semantics change; older files are then recomputed. */
export const PATTERN_FORMAT_VERSION = 1;
export const PATTERN_HEADER_BYTES = 104;

export interface PatternKey {
  /**
   * sha256 (hex) of the weight's float32 bytes as stored (row-major [rows, cols]); with
   * K, N and the orientation it names B exactly, and hashing it needs no transpose.
   */
  contentSha: string;
  k: number;
  n: number;
  orientation: Orientation;
}

/** File name inside the cache folder for one (content, shape, orientation, tile config). */
export function patternFileName(key: PatternKey): string {
  return `${key.contentSha}-${key.k}x${key.n}-${key.orientation}-bk${BK}t${TILE}.pat`;
}

export function sha256Hex(bytes: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest('hex');
}

export function encodePatternFile(key: PatternKey, patterns: Uint8Array): Buffer {
  const header = Buffer.alloc(PATTERN_HEADER_BYTES);
  PATTERN_MAGIC.copy(header, 0);
  header.writeUInt32LE(PATTERN_FORMAT_VERSION, 8);
  header.writeUInt32LE(BK, 12);
  header.writeUInt32LE(TILE, 16);
  header.writeUInt32LE(key.k, 20);
  header.writeUInt32LE(key.n, 24);
  header.writeUInt8(key.orientation === 'raw' ? 1 : 0, 28);
  header.writeBigUInt64LE(BigInt(patterns.length), 32);
  Buffer.from(key.contentSha, 'hex').copy(header, 40);
  Buffer.from(sha256Hex(patterns), 'hex').copy(header, 72);
  return Buffer.concat([header, patterns]);
}

/**
 * The pattern bytes of a file if it is exactly what `key` asks for, else why not. Every
 * field is checked, and the pattern bytes against their checksum, so a stale, truncated or
 * corrupt file is never used.
 */
export function decodePatternFile(file: Buffer, key: PatternKey): { patterns: Uint8Array } | { invalid: string } {
  if (file.length < PATTERN_HEADER_BYTES) return { invalid: `truncated header (${file.length} bytes)` };
  if (!file.subarray(0, 8).equals(PATTERN_MAGIC)) return { invalid: 'bad magic' };
  const version = file.readUInt32LE(8);
  if (version !== PATTERN_FORMAT_VERSION) return { invalid: `format version ${version}, expected ${PATTERN_FORMAT_VERSION}` };
  if (file.readUInt32LE(12) !== BK || file.readUInt32LE(16) !== TILE) return { invalid: 'different tile config' };
  if (file.readUInt32LE(20) !== key.k || file.readUInt32LE(24) !== key.n) return { invalid: 'different K×N' };
  if (file.readUInt8(28) !== (key.orientation === 'raw' ? 1 : 0)) return { invalid: 'different orientation' };
  const expectedBytes = bPatternBytes(key.k, key.n);
  if (file.readBigUInt64LE(32) !== BigInt(expectedBytes)) return { invalid: 'wrong pattern length in header' };
  if (file.subarray(40, 72).toString('hex') !== key.contentSha) return { invalid: 'tensor content changed' };
  if (file.length !== PATTERN_HEADER_BYTES + expectedBytes) {
    return { invalid: `size ${file.length}, expected ${PATTERN_HEADER_BYTES + expectedBytes}` };
  }
  const patterns = new Uint8Array(file.buffer, file.byteOffset + PATTERN_HEADER_BYTES, expectedBytes);
  if (sha256Hex(patterns) !== file.subarray(72, 104).toString('hex')) return { invalid: 'pattern checksum mismatch' };
  return { patterns };
}

/** Reads and validates a pattern file; a missing file is `{ invalid: 'missing' }`. */
export async function readPatternFile(path: string, key: PatternKey): Promise<{ patterns: Uint8Array } | { invalid: string }> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { invalid: 'missing' };
    throw err;
  }
  return decodePatternFile(file, key);
}

/** Writes to a temporary name, syncs, then renames: readers see the old file or the whole new one. */
export async function writeFileAtomic(path: string, data: Uint8Array | string | readonly Uint8Array[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const handle = await open(tmp, 'w');
    try {
      // Pieces are written one after another (no joined copy of a large body).
      const pieces = typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
      for (const piece of pieces) await handle.writeFile(piece);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
