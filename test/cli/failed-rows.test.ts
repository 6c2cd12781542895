import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { REPO_ROOT, tempDir } from '../helpers.js';
import { randomMatrix, writeSafetensorsF32 } from '../pipeline/fixtures.js';
import { CPU_TINY, cli } from './cli-run.js';

const tmp = tempDir();
after(() => tmp.cleanup());

it('a failed row carries an error code and the file#tensor in its reason', async () => {
  const data = randomMatrix(32, 32, 3, 0.5);
  data[5] = Number.NaN;
  const file = join(tmp.dir, 'tree', 'nan.safetensors');
  writeSafetensorsF32(file, { w: { shape: [32, 32], data } });
  const csv = join(tmp.dir, 'nan.csv');
  const r = await cli(['run', join(tmp.dir, 'tree'), ...CPU_TINY, '--out', csv, '--cache-dir', join(tmp.dir, 'c')]);
  assert.equal(r.code, 1);
  const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.ok(rows.length > 0);
  for (const row of rows) {
    assert.equal(row.status, 'failed');
    assert.ok(row.reason.startsWith(`WRONG_RESULT ${file}#w: `), row.reason);
    assert.match(row.reason, /NaN\/Inf/);
  }
});

it('--backend cuda without a usable GPU stops at once with exit 2, as the README says', async (t) => {
  const doctor = await cli(['doctor', '--json']);
  const report = JSON.parse(doctor.stdout) as { devices: unknown[] };
  if (report.devices.length > 0) return t.skip('a GPU is present');
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  assert.match(readme, /`--backend cuda` on a machine without a usable GPU stops at once with exit 2/);
  const tree = join(tmp.dir, 'tree');
  for (const args of [
    ['run', tree, '--backend', 'cuda', '--out', join(tmp.dir, 'cuda', 'r.csv')],
    ['sweep', '--backend', 'cuda', '--out', join(tmp.dir, 'cuda', 's.csv')],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, 'esmm-bench: --backend cuda: no CUDA device is usable (run `esmm-bench doctor`)\n');
  }
  // Nothing was written for a run that could not start.
  assert.deepEqual(readdirSync(join(tmp.dir, 'cuda')).filter((f) => f.endsWith('.csv')), []);
});
