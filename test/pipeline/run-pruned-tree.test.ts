import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { runCommand } from '../../src/commands/run.js';
import { CSV_COLUMNS } from '../../src/output/columns.js';
import { orientWeight } from '../../src/patterns/orient-weight.js';
import { blockSparsity } from '../../src/patterns/pattern-layout.js';
import { readTensorF32 } from '../../src/weights/index.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { patternsTs } from './fake-native.js';

interface Expected {
  [file: string]: { tensors: Record<string, { shape: number[]; zeros: number; dtype: string }> };
}

const TREE = join(SHARED_WEIGHTS, 'pruned-tree');
const expected = JSON.parse(readFileSync(join(SHARED_WEIGHTS, 'expected.json'), 'utf8')) as Expected;
const treeFiles = Object.keys(expected).filter((f) => f.startsWith('pruned-tree/'));

describe('run over the real pruned tree (cpu backend)', () => {
  const tmp = tempDir();
  let rows: Record<string, string>[];
  let summary: Awaited<ReturnType<typeof runCommand>>;

  before(async () => {
    summary = await runCommand(TREE, {
      m: '8',
      kernels: 'esmm,cublas',
      orientation: 'linear',
      backend: 'cpu',
      device: '0',
      runs: '1',
      warmup: '0',
      l2: 'hot',
      seed: '1',
      out: join(tmp.dir, 'real.csv'),
      resume: false,
      overwrite: false,
      cacheDir: join(tmp.dir, 'cache'),
      progress: false,
    });
    const text = readFileSync(join(tmp.dir, 'real.csv'), 'utf8');
    assert.equal(text.split('\n')[0], CSV_COLUMNS.join(','));
    rows = parse(text, { columns: true }) as Record<string, string>[];
  });
  after(() => tmp.cleanup());

  it('writes one ok row per tensor × kernel, cuBLAS mapped to the CPU reference', () => {
    assert.equal(treeFiles.length, 42);
    assert.equal(rows.length, 84);
    assert.deepEqual({ rows: summary.rows, ok: summary.ok, failed: summary.failed, skipped: summary.skipped }, { rows: 84, ok: 84, failed: 0, skipped: 0 });
    assert.deepEqual([...new Set(rows.map((r) => r.kernel))].sort(), ['esmm', 'reference']);
    for (const r of rows) {
      assert.equal(r.status, 'ok', r.reason);
      assert.equal(r.backend, 'cpu');
      assert.match(r.device, /^cpu/);
      assert.equal(r.m, '8');
      assert.ok(Number(r.rel_err_frobenius) < 1e-5, `${r.source_file} ${r.kernel}: ${r.rel_err_frobenius}`);
      assert.ok(Number(r.compute_ms_median) > 0);
      if (r.kernel === 'reference') assert.equal(Number(r.speedup_compute), 1);
      else assert.ok(Number(r.speedup_compute) > 0 && Number(r.a_pattern_ms) >= 0);
    }
  });

  it('labels, shapes, orientation and element sparsity match expected.json', () => {
    for (const file of treeFiles) {
      const t = expected[file].tensors[''];
      const mine = rows.filter((r) => relative(SHARED_WEIGHTS, r.source_file) === file);
      assert.equal(mine.length, 2, file);
      const [, pruner, grp, perm, sparsity, name] = file.split('/');
      for (const r of mine) {
        assert.equal(r.label_pruner, pruner);
        assert.equal(r.label_group, grp.replace('grp_', ''));
        assert.equal(r.label_perm, perm.replace('_perm', ''));
        assert.equal(r.label_sparsity, sparsity.replace('sparsity_', ''));
        assert.equal(r.label_layer, basename(name, '_permuted.pt'));
        assert.deepEqual([Number(r.shape_rows), Number(r.shape_cols)], t.shape);
        assert.equal(r.source_dtype, 'F32');
        assert.equal(r.orientation, 'linear');
        assert.equal(Number(r.k), t.shape[1]);
        assert.equal(Number(r.n), t.shape[0]);
        assert.equal(Number(r.element_sparsity), t.zeros / (t.shape[0] * t.shape[1]));
        assert.ok(Math.abs(Number(r.element_sparsity) - Number(r.label_sparsity)) < 1e-3);
      }
    }
  });

  it('block sparsity is the zero fraction of the DESIGN.md B patterns of Wᵀ', async () => {
    for (const file of treeFiles.slice(0, 6)) {
      const r = rows.find((x) => relative(SHARED_WEIGHTS, x.source_file) === file)!;
      const [rowsW, colsW] = expected[file].tensors[''].shape;
      const data = await readTensorF32({ file: join(SHARED_WEIGHTS, file), name: '' });
      const { b, k, n } = orientWeight(data, rowsW, colsW, 'linear');
      assert.equal(Number(r.block_sparsity), blockSparsity(patternsTs({ data: b, rows: k, cols: n, operand: 'B' })));
    }
  });

  it('the sidecar records the run, the stage times and every file sha256', () => {
    const sidecar = JSON.parse(readFileSync(summary.sidecarPath, 'utf8'));
    assert.equal(sidecar.run, 1);
    assert.equal(sidecar.params.backend, 'cpu');
    assert.equal(sidecar.params.seed, 1);
    assert.ok(sidecar.endedAt);
    for (const key of ['load_ms', 'convert_ms', 'pattern_ms', 'native_ms', 'write_ms', 'hash_ms']) {
      assert.equal(typeof sidecar.stageMs[key], 'number', key);
    }
    assert.equal(Object.keys(sidecar.tensorFiles).length, 42);
    for (const [f, sha] of Object.entries(sidecar.tensorFiles)) {
      assert.equal(sha, (expected as Record<string, { sha256?: string }>)[relative(SHARED_WEIGHTS, f)]?.sha256 ?? null, f);
    }
    assert.equal(sidecar.nvml.before, null);
    const samples = readFileSync(join(tmp.dir, 'real.csv.samples.jsonl'), 'utf8').trim().split('\n');
    assert.equal(samples.length, 84);
    assert.equal(JSON.parse(samples[0]).samples_ms.length, 1);
  });
});
