import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { emptyRow, type RowConfig } from '../../src/output/result-rows.js';
import { reportCommand } from '../../src/commands/report.js';
import type { ResultRow } from '../../src/output/columns.js';
import { formatRows, headerLine } from '../../src/output/result-csv.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

const cfg: RowConfig = { orientation: 'linear', backend: 'cuda', device: 'NVIDIA H100 80GB HBM3', runs: 20, warmup: 5, l2: 'cold', seed: 1, run: 1 };

function row(layer: string, sparsity: string, kernel: string, m: number, computeMs: number, baseMs: number, aMs = 0.01): ResultRow {
  const r = emptyRow(
    { file: `t/magnitude/grp_8/col_perm/sparsity_${sparsity}/${layer}_permuted.pt`, name: '', labels: { pruner: 'magnitude', group: '8', perm: 'col', sparsity, layer }, shape: [4096, 4096], dtype: 'F32', k: 4096, n: 4096, elementSparsity: Number(sparsity), blockSparsity: Number(sparsity) / 2 },
    cfg,
    { m, kernel, aSource: 'random' },
    'ok',
    null,
  );
  const total = kernel === 'esmm' ? computeMs + aMs : computeMs;
  Object.assign(r, {
    compute_ms_median: computeMs,
    compute_ms_min: computeMs,
    compute_ms_max: computeMs,
    a_pattern_ms: kernel === 'esmm' ? aMs : null,
    total_ms: total,
    speedup_compute: baseMs / computeMs,
    speedup_total: baseMs / total,
    rel_err_frobenius: 1e-7,
  });
  return r;
}

it('report: exact markdown per label group, and SVG + PNG plots', async () => {
  const rows: ResultRow[] = [
    row('q_proj', '0.5', 'cublas', 4096, 2.5, 2.5),
    row('q_proj', '0.5', 'esmm', 4096, 2.0, 2.5, 0.5),
    row('k_proj', '0.5', 'cublas', 4096, 2.5, 2.5),
    row('k_proj', '0.5', 'esmm', 4096, 1.0, 2.5, 0.25),
    row('up_proj', '0.5', 'cublas', 4096, 3.0, 3.0),
    row('up_proj', '0.5', 'esmm', 4096, 1.5, 3.0, 0.5),
    row('q_proj', '0.9', 'cublas', 4096, 2.5, 2.5),
    row('q_proj', '0.9', 'esmm', 4096, 0.5, 2.5, 0),
    row('q_proj', '0.75', 'cublas', 4096, 2.5, 2.5),
    row('q_proj', '0.75', 'esmm', 4096, 1.25, 2.5, 0.25),
  ];
  const failed = emptyRow({ file: 't/bad.pt', name: '', labels: {} }, cfg, { m: null, kernel: null, aSource: null }, 'skipped', 'BAD_FILE: t/bad.pt: truncated');
  const csv = join(tmp.dir, 'known.csv');
  writeFileSync(csv, headerLine() + formatRows([...rows, failed]));
  const outDir = join(tmp.dir, 'rep');
  const report = await reportCommand(csv, { outDir });
  assert.equal(
    report.markdown,
    [
      '# esmm-bench report: known.csv',
      '',
      '11 rows: 10 ok, 0 failed, 1 skipped.',
      'Backend: cuda; device: NVIDIA H100 80GB HBM3.',
      '',
      '## Speedup vs cuBLAS SGEMM, per label group',
      '',
      '| pruner | group | perm | sparsity | kernel | m | count | compute median | compute min | compute max | total median | total min | total max |',
      '|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      '| magnitude | 8 | col | 0.5 | esmm | 4096 | 3 | 2.00 | 1.25 | 2.50 | 1.50 | 1.00 | 2.00 |',
      '| magnitude | 8 | col | 0.75 | esmm | 4096 | 1 | 2.00 | 2.00 | 2.00 | 1.67 | 1.67 | 1.67 |',
      '| magnitude | 8 | col | 0.9 | esmm | 4096 | 1 | 5.00 | 5.00 | 5.00 | 5.00 | 5.00 | 5.00 |',
      '',
      '## Rows not ok',
      '',
      '| status | file | tensor | m | kernel | reason |',
      '|---|---|---|---:|---|---|',
      '| skipped | t/bad.pt |  |  |  | BAD_FILE: t/bad.pt: truncated |',
      '',
    ].join('\n'),
  );
  assert.equal(readFileSync(join(outDir, 'report.md'), 'utf8'), report.markdown);
  assert.deepEqual(
    report.files.map((f) => f.slice(outDir.length + 1)),
    ['report.md', 'speedup-vs-block-sparsity.svg', 'speedup-vs-block-sparsity.png', 'speedup-per-layer.svg', 'speedup-per-layer.png'],
  );
  const svg = readFileSync(join(outDir, 'speedup-per-layer.svg'), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /up_proj/);
  assert.match(svg, /font-family="DejaVu Sans"/);
  assert.deepEqual([...readFileSync(join(outDir, 'speedup-vs-block-sparsity.png')).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});

it('report leads with the speedup against the best dense baseline, SGEMM and k density beside it, noisy groups marked', async () => {
  const fair = (layer: string, kernel: string, ms: number, sgemmMs: number, tf32x3Ms: number, kDensity: number, noisy: boolean): ResultRow => {
    const r = row(layer, '0.5', kernel, 4096, ms, sgemmMs, 0);
    const best = Math.min(sgemmMs, tf32x3Ms);
    return Object.assign(r, {
      k_density: kDensity,
      noisy: noisy ? 'true' : 'false',
      speedup_tf32x3_compute: tf32x3Ms / ms,
      speedup_tf32x3_total: tf32x3Ms / ms,
      speedup_best_dense_compute: best / ms,
      speedup_best_dense_total: best / ms,
      best_dense_kernel: best === sgemmMs ? 'cublas' : 'dense-tf32x3',
    });
  };
  const rows = [
    fair('q_proj', 'cublas', 2.6, 2.6, 1.9, 0.5, false),
    fair('q_proj', 'dense-tf32x3', 1.9, 2.6, 1.9, 0.5, false),
    fair('q_proj', 'esmm', 1.0, 2.6, 1.9, 0.5, false),
    fair('k_proj', 'esmm', 0.95, 2.6, 1.9, 0.4, true),
  ];
  const csv = join(tmp.dir, 'fair.csv');
  writeFileSync(csv, headerLine() + formatRows(rows));
  const outDir = join(tmp.dir, 'fair-rep');
  const report = await reportCommand(csv, { outDir });
  const lines = report.markdown.split('\n');
  assert.ok(lines.includes('## Speedup vs the faster float32-accurate dense baseline of the same call (cuBLAS SGEMM at its best cublasLt algorithm, or dense-tf32x3), per label group'));
  assert.ok(lines.includes('| magnitude | 8 | col | 0.5 | esmm | 4096 | 2 | 1.95 | 1.90 | 2.00 | 1.95 | 1.90 | 2.00 | 2.67 | 0.45 | 1 of 2 |'), report.markdown);
  assert.ok(report.files.some((f) => f.endsWith('speedup-vs-k-density.png')));
});
