import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';

import { tempDir } from '../helpers.js';
import { randomMatrix, writeSafetensorsF32 } from '../pipeline/fixtures.js';
import { CPU_TINY, cli } from './cli-run.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const tree = join(tmp.dir, 'tree');
const cache = ['--cache-dir', join(tmp.dir, 'c')];

before(() => {
  writeSafetensorsF32(join(tree, 'm.safetensors'), {
    a: { shape: [32, 32], data: randomMatrix(32, 32, 1, 0.5) },
    b: { shape: [32, 64], data: randomMatrix(32, 64, 2, 0.5) },
  });
});

it('--resume with other settings is refused with the list of differences; the same settings resume', async () => {
  const csv = join(tmp.dir, 'r.csv');
  const first = await cli(['run', tree, ...CPU_TINY, ...cache, '--out', csv, '--filter', '^a$']);
  assert.equal(first.code, 0, first.stderr);
  const before = readFileSync(csv, 'utf8');
  const mixed = await cli(['run', tree, ...CPU_TINY, ...cache, '--out', csv, '--resume', '--seed', '7', '--runs', '3', '--orientation', 'raw']);
  assert.equal(mixed.code, 2, mixed.stderr);
  assert.match(mixed.stderr, /--seed 1 → 7/);
  assert.match(mixed.stderr, /--runs 1 → 3/);
  assert.match(mixed.stderr, /--orientation linear → raw/);
  assert.equal(readFileSync(csv, 'utf8'), before, 'nothing appended');
  const kernels = await cli(['run', tree, ...CPU_TINY, ...cache, '--out', csv, '--resume', '--kernels', 'esmm']);
  assert.equal(kernels.code, 2);
  assert.match(kernels.stderr, /--kernels esmm,cublas,dense-tf32x3 → esmm/);
  const same = await cli(['run', tree, ...CPU_TINY, ...cache, '--out', csv, '--resume']);
  assert.equal(same.code, 0, same.stderr);
  assert.ok(readFileSync(csv, 'utf8').length > before.length, 'the rest of the points appended');
});

it('report groups by orientation and seed: rows of two seeds are never averaged together', async () => {
  const a = join(tmp.dir, 'seed1.csv');
  const b = join(tmp.dir, 'seed2.csv');
  assert.equal((await cli(['run', tree, ...CPU_TINY, ...cache, '--out', a])).code, 0);
  assert.equal((await cli(['run', tree, ...CPU_TINY, ...cache, '--out', b, '--seed', '2'])).code, 0);
  const merged = join(tmp.dir, 'merged.csv');
  const rowsB = readFileSync(b, 'utf8').split('\n').slice(1).join('\n');
  writeFileSync(merged, readFileSync(a, 'utf8') + rowsB);
  const r = await cli(['report', merged, '--no-plots']);
  assert.equal(r.code, 0, r.stderr);
  const table = r.stdout.split('\n').filter((l) => l.startsWith('| '));
  assert.match(table[0], /\| seed \|/);
  const esmmRows = table.filter((l) => l.includes('| esmm |'));
  assert.equal(esmmRows.length, 2, r.stdout);
  assert.ok(existsSync(join(tmp.dir, 'merged-report', 'report.md')));
});

it('report reads a sweep CSV and writes <csv name>-report/ beside it; two CSVs, two reports', async () => {
  const sweep = join(tmp.dir, 'sweep.csv');
  const s = await cli(['sweep', '--backend', 'cpu', '--sizes', '32', '--densities', '1,0.5', '--modes', 'joint', '--runs', '1', '--warmup', '0', '--l2', 'hot', '--out', sweep]);
  assert.equal(s.code, 0, s.stderr);
  const r = await cli(['report', sweep, '--no-plots']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| density \| mode \| size \|/);
  assert.ok(existsSync(join(tmp.dir, 'sweep-report', 'report.md')));
  const run = join(tmp.dir, 'seed1.csv');
  assert.equal((await cli(['report', run, '--no-plots'])).code, 0);
  assert.ok(existsSync(join(tmp.dir, 'seed1-report', 'report.md')));
  assert.ok(readFileSync(join(tmp.dir, 'sweep-report', 'report.md'), 'utf8').includes('sweep.csv'));
});

it('report on an empty CSV, or one with a header only, exits 1 and says so', async () => {
  const empty = join(tmp.dir, 'empty.csv');
  writeFileSync(empty, '');
  const r = await cli(['report', empty, '--no-plots']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /nothing to report/);
  const headerOnly = join(tmp.dir, 'header-only.csv');
  writeFileSync(headerOnly, readFileSync(join(tmp.dir, 'seed1.csv'), 'utf8').split('\n')[0] + '\n');
  const h = await cli(['report', headerOnly, '--no-plots']);
  assert.equal(h.code, 1, h.stderr);
  assert.match(h.stderr, /no rows/);
});
