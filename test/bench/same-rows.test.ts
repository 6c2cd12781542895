import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { stringify } from 'csv-stringify/sync';

import { CSV_COLUMNS } from '../../src/output/columns.js';
import { REPO_ROOT, tempDir } from '../helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

type Row = Partial<Record<(typeof CSV_COLUMNS)[number], string>>;
const row = (kernel: string, extra: Row = {}): Row => ({
  source_file: 't/q.safetensors', tensor: 'weight', m: '16', k: '64', n: '64', kernel, variant: 'v1', status: 'ok',
  device: 'GPU (cuda:0)', compute_ms_median: '1.5', rel_err_frobenius: '1e-7', best_dense_kernel: 'cublas', run: 'r1', ...extra,
});
function csv(name: string, rows: Row[]): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, stringify(rows.map((r) => CSV_COLUMNS.map((c) => r[c] ?? '')), { header: true, columns: [...CSV_COLUMNS] }));
  return path;
}
const sameRows = (a: string, b: string) =>
  spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'scripts', 'same-rows.js'), a, b], { encoding: 'utf8' });

it('same-rows: timing, device and run columns (and the cuBLAS algorithm) may differ; anything else is the first difference, exit 1', () => {
  const one = csv('one.csv', [row('cublas'), row('esmm')]);
  const two = csv('two.csv', [
    row('cublas', { device: 'GPU (cuda:1)', variant: 'v2', rel_err_frobenius: '2e-7', compute_ms_median: '1.4', run: 'r2' }),
    row('esmm', { device: 'GPU (cuda:1)', best_dense_kernel: 'dense-tf32x3', run: 'r2' }),
  ]);
  const same = sameRows(one, two);
  assert.equal(same.status, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /^ignored: device, run, compute_ms_median/);
  assert.match(same.stdout, /SAME: 2 rows identical apart from those columns \(devices: GPU \(cuda:0\) \| GPU \(cuda:1\)\)/);

  // An error column's last bits (the host's reduction order) are no difference; its value is.
  const ulp = csv('ulp.csv', [row('cublas'), row('esmm', { rel_err_frobenius: '1.0000000000000002e-7' })]);
  assert.equal(sameRows(one, ulp).status, 0);

  const other = csv('other.csv', [row('cublas'), row('esmm', { rel_err_frobenius: '3e-7', variant: 'v9' })]);
  const diff = sameRows(one, other);
  assert.equal(diff.status, 1);
  assert.match(diff.stdout, /DIFFERENT at row 2 of 2 \/ 2 \(t\/q\.safetensors#weight m=16 esmm\):\n {2}variant: "v1" vs "v9"\n {2}rel_err_frobenius: "1e-7" vs "3e-7"/);
  const fewer = sameRows(one, csv('fewer.csv', [row('cublas')]));
  assert.equal(fewer.status, 1);
  assert.match(fewer.stdout, /DIFFERENT at row 2 of 2 \/ 1/);
  assert.equal(sameRows(one, join(tmp.dir, 'missing.csv')).status, 2);
});
