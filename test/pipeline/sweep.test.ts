import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { parseSizes } from '../../src/bench/run-sweep.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { SWEEP_COLUMNS } from '../../src/output/columns.js';
import { tempDir } from '../helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

const base = { densities: '1,0.25', modes: 'joint,b-only', kernels: 'esmm,cublas', backend: 'cpu', device: '0', runs: '2', warmup: '0', l2: 'cold', seed: '3' };

it('sweep on the cpu backend: rows per size × mode × density × kernel, labelled cpu', async () => {
  const out = join(tmp.dir, 'sweep.csv');
  const s = await sweepCommand({ ...base, sizes: '128,64x200x96', out }, { log: () => {} });
  assert.equal(s.backend, 'cpu');
  const text = readFileSync(out, 'utf8');
  assert.equal(text.split('\n')[0], SWEEP_COLUMNS.join(','));
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 2 * 2 * 2 * 2);
  for (const r of rows) {
    assert.equal(r.status, 'ok', r.reason);
    assert.equal(r.backend, 'cpu');
    assert.ok(['esmm', 'reference'].includes(r.kernel));
    assert.ok(Number(r.rel_err_frobenius) < 1e-5);
    if (r.kernel === 'reference') assert.equal(Number(r.speedup_compute), 1);
  }
  const skip = (mode: string, density: string, m: string) =>
    Number(rows.find((r) => r.mode === mode && r.density === density && r.m === m && r.kernel === 'esmm')!.skipped_slice_fraction);
  assert.equal(skip('joint', '1', '128'), 0);
  assert.equal(skip('b-only', '1', '128'), 0);
  // A slice is skipped when no bit survives in both: (1 − d²)⁸ ≈ 0.60 for joint, (1 − d)⁸ ≈ 0.10 for b-only at d = 0.25.
  assert.ok(skip('joint', '0.25', '128') > 0.45 && skip('joint', '0.25', '128') < 0.75, String(skip('joint', '0.25', '128')));
  assert.ok(skip('b-only', '0.25', '128') > 0.02 && skip('b-only', '0.25', '128') < 0.25, String(skip('b-only', '0.25', '128')));
  const ragged = rows.filter((r) => r.m === '64');
  assert.ok(ragged.every((r) => r.k === '200' && r.n === '96'));
  assert.match(s.table, /^size \(MxKxN\)/);
  assert.equal(s.table.split('\n').length, 1 + 2 * 2 * 2);

  const second = await sweepCommand({ ...base, densities: '0.5', modes: 'joint', sizes: '64', out }, { log: () => {} });
  assert.equal(second.run, 2);
  assert.ok(existsSync(`${out}.json`) && existsSync(`${out}.run-2.json`));
  assert.equal((parse(readFileSync(out, 'utf8'), { columns: true }) as unknown[]).length, 16 + 2);
});

it('parses sizes as N or MxKxN', () => {
  assert.deepEqual(parseSizes('4096,16x4096x11008'), [
    { m: 4096, k: 4096, n: 4096 },
    { m: 16, k: 4096, n: 11008 },
  ]);
  assert.throws(() => parseSizes('4096x2'), /neither N nor MxKxN/);
});
