import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { SAMPLE_TREES, ensureSampleTree, pruneAndPermute } from '../../src/bench/sample-tree.js';
import { defaultJob } from '../../src/commands/default.js';
import { tempDir, treeDigest } from '../helpers.js';
import { randomMatrix } from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

it('default job on cpu: generated tree, CSV and report, well under a minute', async () => {
  const t0 = Date.now();
  const lines: string[] = [];
  const result = await defaultJob({ outDir: tmp.dir, backend: 'cpu' }, { print: (l) => lines.push(l), log: () => {} });
  assert.ok(Date.now() - t0 < 60_000);
  assert.equal(result.backend, 'cpu');
  assert.match(lines[0], /^CPU backend as asked: running the CPU backend at small sizes/);
  const rows = parse(readFileSync(join(tmp.dir, 'default-cpu.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 7 * 3 * 2);
  assert.ok(rows.every((r) => r.status === 'ok' && r.label_pruner === 'generated-magnitude' && r.backend === 'cpu' && r.source_dtype === 'BF16'));
  assert.deepEqual([...new Set(rows.map((r) => r.label_sparsity))].sort(), ['0.5', '0.75', '0.9']);
  const gate = rows.find((r) => r.label_layer === 'model.layers.0.mlp.gate_proj' && r.label_sparsity === '0.75')!;
  assert.deepEqual([gate.shape_rows, gate.shape_cols, gate.k, gate.n], ['688', '256', '256', '688']);
  assert.equal(Number(gate.element_sparsity), 0.75);
  assert.ok(result.report.files.some((f) => f.endsWith('speedup-vs-k-density.png')));
  assert.match(result.report.markdown, /\| generated-magnitude \| 16 \| col \| 0\.9 \| esmm \| 16 \| 7 \|/);

  // Second start: the tree is kept as it is, the job's own CSV is replaced.
  const digest = treeDigest(join(tmp.dir, 'sample-tree-cpu'));
  assert.equal(await ensureSampleTree(join(tmp.dir, 'sample-tree-cpu'), SAMPLE_TREES.cpu), false);
  await defaultJob({ outDir: tmp.dir, backend: 'cpu' }, { print: () => {}, log: () => {} });
  assert.equal((parse(readFileSync(join(tmp.dir, 'default-cpu.csv'), 'utf8'), { columns: true }) as unknown[]).length, 42);
  // Deterministic: a fresh tree is byte-identical.
  await ensureSampleTree(join(tmp.dir, 'again'), SAMPLE_TREES.cpu);
  assert.equal(treeDigest(join(tmp.dir, 'again')), treeDigest(join(tmp.dir, 'sample-tree-cpu')));
});

it('magnitude group pruning zeroes the lowest-norm groups of each row, then sorts columns by L1', () => {
  const w = randomMatrix(8, 64, 3);
  const p = pruneAndPermute(w, 8, 64, 16, 0.5, 'col');
  let zeros = 0;
  for (const v of p) if (v === 0) zeros++;
  assert.equal(zeros, 8 * 64 * 0.5);
  const l1 = Array.from({ length: 64 }, (_, c) => Array.from({ length: 8 }, (_, r) => Math.abs(p[r * 64 + c])).reduce((a, b) => a + b));
  for (let c = 1; c < 64; c++) assert.ok(l1[c - 1] >= l1[c]);
  const rowPerm = pruneAndPermute(w, 8, 64, 16, 0.75, 'row');
  const rl1 = Array.from({ length: 8 }, (_, r) => rowPerm.subarray(r * 64, r * 64 + 64).reduce((a, b) => a + Math.abs(b), 0));
  for (let r = 1; r < 8; r++) assert.ok(rl1[r - 1] >= rl1[r]);
  for (let r = 0; r < 8; r++) assert.equal(rowPerm.subarray(r * 64, r * 64 + 64).filter((v) => v === 0).length, 48);
});
