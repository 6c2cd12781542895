import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { runCommand } from '../../src/commands/run.js';
import { buildReport } from '../../src/output/build-report.js';
import { bMemoryBytes } from '../../src/patterns/b-memory-bytes.js';
import { readTensorF32, walkWeights } from '../../src/weights/index.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { fakeNative } from './fake-native.js';

const TREE = join(SHARED_WEIGHTS, 'pruned-tree');

/** The storage of B = Wᵀ straight from W's elements, without patterns: blocks of B are (k rows) × (n columns). */
function memoryFromTensor(w: Float32Array, rows: number, cols: number): { dense: number; esmm: number; bsr32: number } {
  const k = cols;
  const n = rows;
  const blocks8 = new Set<string>();
  const blocks32 = new Set<string>();
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (w[r * cols + c] === 0) continue;
      // B[c][r] = W[r][c]: row c of B (k), column r of B (n).
      blocks8.add(`${c >> 3},${r >> 5}`);
      blocks32.add(`${c >> 5},${r >> 5}`);
    }
  }
  const slices = Math.ceil(k / 8);
  const tiles = Math.ceil(n / 32);
  return {
    dense: k * n * 4,
    esmm: blocks8.size * 8 * 32 * 4 + slices * tiles,
    bsr32: blocks32.size * (32 * 32 * 4 + 4) + (Math.ceil(k / 32) + 1) * 4,
  };
}

function options(out: string, cacheDir: string): Record<string, unknown> {
  return {
    m: '8', kernels: 'esmm,cublas', orientation: 'linear', backend: 'cpu', device: '0', runs: '2', warmup: '0',
    l2: 'hot', seed: '1', out, resume: false, overwrite: false, cacheDir, progress: false,
  };
}

describe('memory and payback columns over the real pruned tree', () => {
  const tmp = tempDir();
  let rows: Record<string, string>[];
  let again: Record<string, string>[];

  before(async () => {
    const cache = join(tmp.dir, 'cache');
    await runCommand(TREE, options(join(tmp.dir, 'a.csv'), cache), { native: fakeNative() });
    rows = parse(readFileSync(join(tmp.dir, 'a.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    // A second run finds the patterns in the cache: their computation time comes from the cache.
    const native = fakeNative();
    await runCommand(TREE, options(join(tmp.dir, 'b.csv'), cache), { native });
    assert.equal(native.patternCalls, 0);
    again = parse(readFileSync(join(tmp.dir, 'b.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  });
  after(() => tmp.cleanup());

  it('dense, ESMM and BSR bytes of every row match a recount from the tensor itself', async () => {
    const walk = await walkWeights({ root: TREE });
    assert.equal(walk.tensors.length, 42);
    let sparser = 0;
    for (const ref of walk.tensors) {
      const w = await readTensorF32(ref);
      const want = memoryFromTensor(w, ref.shape[0], ref.shape[1]);
      const mine = rows.filter((r) => r.source_file === ref.file);
      assert.equal(mine.length, 2, ref.file);
      for (const r of mine) {
        assert.deepEqual({ dense: Number(r.b_dense_bytes), esmm: Number(r.b_esmm_bytes), bsr32: Number(r.b_bsr32_bytes) }, want, ref.file);
      }
      if (want.esmm < want.dense) sparser++;
    }
    assert.ok(sparser > 0, 'some tensor of the tree is smaller in ESMM form');
  });

  it('ragged edges count as full blocks', () => {
    // K = 12 (two slices, one 32-row block row), N = 40 (two tiles): three non-empty 8×32 blocks in two 32×32 blocks.
    const slices = 2;
    const p = new Uint8Array(2 * slices);
    p[0] = 1; // tile 0, slice 0
    p[1] = 4; // tile 0, slice 1
    p[slices + 1] = 2; // tile 1, slice 1
    assert.deepEqual(bMemoryBytes(p, 12, 40), { dense: 12 * 40 * 4, esmm: 3 * 1024 + 4, bsr32: 2 * (4096 + 4) + 2 * 4 });
  });

  it('b_pattern_ms on every row, the same from the cache; payback = b_pattern_ms / (baseline − esmm total) on esmm rows', () => {
    for (const r of rows) {
      const ms = Number(r.b_pattern_ms);
      assert.ok(r.b_pattern_ms !== '' && ms >= 0, `${r.source_file}: b_pattern_ms '${r.b_pattern_ms}'`);
      const twin = again.find((x) => x.source_file === r.source_file && x.kernel === r.kernel)!;
      assert.equal(Number(twin.b_pattern_ms), ms);
      if (r.kernel === 'esmm') {
        // The fake times: reference 4 ms, esmm 2 ms + 0.5 ms A patterns.
        assert.ok(Math.abs(Number(r.payback_calls) - ms / 1.5) < 1e-9);
      } else {
        assert.equal(r.payback_calls, '');
      }
    }
  });

  it('report totals the memory per label group and states the payback of the run', () => {
    const { markdown } = buildReport(rows, 'a.csv');
    const line = markdown.split('\n').find((l) => l.startsWith('| group=8, perm=row, pruner=magnitude, sparsity=0.9 |'))!;
    const group = rows.filter((r) => r.kernel === 'esmm' && r.label_sparsity === '0.9');
    const sum = (col: string) => group.reduce((s, r) => s + Number(r[col]), 0);
    assert.equal(group.length, 14);
    assert.equal(line.split('|')[2].trim(), '14');
    assert.equal(line.split('|')[3].trim(), (sum('b_dense_bytes') / 2 ** 20).toFixed(2));
    assert.equal(line.split('|')[4].trim(), (sum('b_esmm_bytes') / 2 ** 20).toFixed(2));
    assert.equal(line.split('|')[6].trim(), (sum('b_bsr32_bytes') / 2 ** 20).toFixed(2));
    const patternMs = rows.filter((r) => r.kernel === 'esmm').reduce((s, r) => s + Number(r.b_pattern_ms), 0);
    assert.match(markdown, new RegExp(`M = 8: computing the B patterns of 42 tensors took ${patternMs.toFixed(2)} ms; one call of each saves 63\\.0000 ms .* after ${Math.ceil(patternMs / 63)} calls`));
  });
});
