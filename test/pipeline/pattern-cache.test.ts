import assert from 'node:assert/strict';
import { readFileSync, readdirSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';

import { cacheCommand } from '../../src/commands/cache.js';
import {
  PATTERN_HEADER_BYTES,
  decodePatternFile,
  encodePatternFile,
  sha256Hex,
} from '../../src/patterns/pattern-file.js';
import { orientWeight } from '../../src/patterns/orient-weight.js';
import { bPatternBytes } from '../../src/patterns/pattern-layout.js';
import { readTensorF32 } from '../../src/weights/index.js';
import type { TensorRef } from '../../src/weights/types.js';
import { tempDir } from '../helpers.js';
import { fakeNative, patternsTs } from './fake-native.js';
import { randomMatrix, writeSafetensorsF32 } from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

/** Files written a minute ago: the cache does not index files modified within the last seconds. */
function age(file: string): void {
  const t = new Date(Date.now() - 60_000);
  utimesSync(file, t, t);
}

/** A tree of three layers, one of them ragged (not a multiple of the tiles). */
function makeTree(dir: string): void {
  writeSafetensorsF32(join(dir, 'a.safetensors'), {
    'l0.weight': { shape: [64, 48], data: randomMatrix(64, 48, 1, 0.6) },
    'l1.weight': { shape: [37, 19], data: randomMatrix(37, 19, 2, 0.3) },
  });
  writeSafetensorsF32(join(dir, 'sub', 'b.safetensors'), { 'l2.weight': { shape: [96, 40], data: randomMatrix(96, 40, 3, 0.9) } });
  age(join(dir, 'a.safetensors'));
  age(join(dir, 'sub', 'b.safetensors'));
}

function counting(): { reads: number; readTensor: (ref: TensorRef) => Promise<Float32Array> } {
  const c = {
    reads: 0,
    readTensor: async (ref: TensorRef) => {
      c.reads++;
      return readTensorF32(ref);
    },
  };
  return c;
}

function patFiles(cacheDir: string): string[] {
  return readdirSync(cacheDir).filter((f) => f.endsWith('.pat')).sort();
}

describe('pattern cache', () => {
  let tree: string;
  let cacheDir: string;
  let n = 0;
  beforeEach(() => {
    n++;
    tree = join(tmp.dir, `tree${n}`);
    cacheDir = join(tmp.dir, `cache${n}`);
    makeTree(tree);
  });

  it('a second cache run reuses every tensor without reading tensor data', async () => {
    const first = counting();
    const s1 = await cacheCommand(tree, { cacheDir, backend: 'cpu' }, { readTensor: first.readTensor });
    assert.deepEqual([s1.computed, s1.reused, s1.skipped, s1.failed], [3, 0, 0, 0]);
    assert.equal(first.reads, 3);
    const second = counting();
    const s2 = await cacheCommand(tree, { cacheDir, backend: 'cpu' }, { readTensor: second.readTensor });
    assert.deepEqual([s2.computed, s2.reused, s2.skipped, s2.failed], [0, 3, 0, 0]);
    assert.equal(second.reads, 0);
  });

  it('stores exactly the DESIGN.md patterns of B = Wᵀ (and of B = W for raw) with a checked header', async () => {
    await cacheCommand(tree, { cacheDir, backend: 'cpu' });
    const w = randomMatrix(37, 19, 2, 0.3);
    const { b, k, n: cols } = orientWeight(w, 37, 19, 'linear');
    const key = { contentSha: sha256Hex(w), k, n: cols, orientation: 'linear' as const };
    const file = readFileSync(join(cacheDir, patFiles(cacheDir).find((f) => f.startsWith(key.contentSha))!));
    assert.equal(file.length, PATTERN_HEADER_BYTES + bPatternBytes(19, 37));
    const decoded = decodePatternFile(file, key);
    assert.ok('patterns' in decoded);
    assert.deepEqual([...decoded.patterns], [...patternsTs({ data: b, rows: k, cols, operand: 'B' })]);
    assert.deepEqual(decodePatternFile(file, { ...key, orientation: 'raw' }), { invalid: 'different orientation' });
    const rawDir = join(tmp.dir, `raw${n}`);
    await cacheCommand(tree, { cacheDir: rawDir, backend: 'cpu', orientation: 'raw' });
    const rawKey = { contentSha: sha256Hex(w), k: 37, n: 19, orientation: 'raw' as const };
    const rawFile = readFileSync(join(rawDir, patFiles(rawDir).find((f) => f.startsWith(rawKey.contentSha))!));
    const rawDecoded = decodePatternFile(rawFile, rawKey);
    assert.ok('patterns' in rawDecoded);
    assert.deepEqual([...rawDecoded.patterns], [...patternsTs({ data: w, rows: 37, cols: 19, operand: 'B' })]);
    assert.deepEqual(decodePatternFile(file, { ...key, contentSha: 'ab'.repeat(32) }), { invalid: 'tensor content changed' });
    const oldVersion = Buffer.from(file);
    oldVersion.writeUInt32LE(0, 8);
    assert.match((decodePatternFile(oldVersion, key) as { invalid: string }).invalid, /format version 0/);
  });

  it('a changed tensor is recomputed, the others reused', async () => {
    await cacheCommand(tree, { cacheDir, backend: 'cpu' });
    // Same size: only the content (and the file's mtime) differs.
    const file = join(tree, 'sub', 'b.safetensors');
    const size = readFileSync(file).length;
    const changed = randomMatrix(96, 40, 99, 0.5);
    writeSafetensorsF32(file, { 'l2.weight': { shape: [96, 40], data: changed } });
    assert.equal(readFileSync(file).length, size);
    age(file);
    const s = await cacheCommand(tree, { cacheDir, backend: 'cpu' });
    assert.deepEqual([s.computed, s.reused], [1, 2]);
    const e = s.entries.find((x) => x.tensor === 'l2.weight')!;
    assert.equal(e.status, 'computed');
    assert.ok(patFiles(cacheDir).some((f) => f.startsWith(sha256Hex(changed))));
    // The index keeps one entry per tensor: the rewritten file's old entry is dropped.
    const index = JSON.parse(readFileSync(join(cacheDir, 'index.json'), 'utf8'));
    assert.equal(Object.keys(index.entries).length, 3);
    assert.equal(Object.keys(index.entries).filter((k) => k.includes('b.safetensors')).length, 1);
  });

  it('a corrupt or truncated cache file is detected and recomputed, never used', async () => {
    const native = fakeNative();
    await cacheCommand(tree, { cacheDir, backend: 'cpu' }, { native });
    assert.equal(native.patternCalls, 3);
    const files = patFiles(cacheDir);
    const flipped = join(cacheDir, files[0]);
    const bytes = readFileSync(flipped);
    bytes[bytes.length - 1] ^= 0x01;
    writeFileSync(flipped, bytes);
    truncateSync(join(cacheDir, files[1]), PATTERN_HEADER_BYTES + 1);
    writeFileSync(join(cacheDir, files[2]), 'ESMMPAT');

    const s = await cacheCommand(tree, { cacheDir, backend: 'cpu' }, { native });
    assert.deepEqual([s.computed, s.reused], [3, 0]);
    assert.equal(native.patternCalls, 6);
    const reasons = s.entries.map((e) => e.reason ?? '').sort();
    assert.equal(reasons[0], 'pattern checksum mismatch');
    assert.match(reasons[1], new RegExp(`^size ${PATTERN_HEADER_BYTES + 1}, expected \\d+$`));
    assert.equal(reasons[2], 'truncated header (7 bytes)');
    const again = await cacheCommand(tree, { cacheDir, backend: 'cpu' }, { native });
    assert.deepEqual([again.computed, again.reused], [0, 3]);
  });

  it('a file rewritten within the timestamp granularity is re-hashed, not trusted by its mtime', async () => {
    const file = join(tree, 'sub', 'b.safetensors');
    const t = new Date(Date.now() - 100);
    utimesSync(file, t, t);
    await cacheCommand(tree, { cacheDir, backend: 'cpu' });
    const changed = randomMatrix(96, 40, 7, 0.5);
    writeSafetensorsF32(file, { 'l2.weight': { shape: [96, 40], data: changed } });
    utimesSync(file, t, t);
    const s = await cacheCommand(tree, { cacheDir, backend: 'cpu' });
    assert.equal(s.entries.find((e) => e.tensor === 'l2.weight')!.status, 'computed');
    assert.ok(patFiles(cacheDir).some((f) => f.startsWith(sha256Hex(changed))));
  });

  it('ESMM_CACHE_DIR is the cache when no --cache-dir is given; a bad file is skipped', async () => {
    writeFileSync(join(tree, 'broken.safetensors'), Buffer.from([255, 255, 255, 255, 0, 0, 0, 0, 1]));
    process.env.ESMM_CACHE_DIR = cacheDir;
    try {
      const s = await cacheCommand(tree, { backend: 'cpu' });
      assert.equal(s.cacheDir, cacheDir);
      assert.deepEqual([s.computed, s.skipped], [3, 1]);
      assert.match(s.entries.find((e) => e.status === 'skipped')!.reason!, /broken\.safetensors/);
    } finally {
      delete process.env.ESMM_CACHE_DIR;
    }
  });

  it('encode/decode round-trips', () => {
    const patterns = Uint8Array.from([0, 1, 255, 7]);
    const key = { contentSha: 'cd'.repeat(32), k: 16, n: 64, orientation: 'raw' as const };
    const decoded = decodePatternFile(encodePatternFile(key, patterns), key);
    assert.ok('patterns' in decoded);
    assert.deepEqual([...decoded.patterns], [0, 1, 255, 7]);
  });
});
