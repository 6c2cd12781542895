import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { compareCommand } from '../../src/commands/compare.js';
import { reproduceCommand } from '../../src/commands/reproduce.js';
import { runCommand } from '../../src/commands/run.js';
import { sweepCommand } from '../../src/commands/sweep.js';
import { REPO_ROOT, SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { fakeNative } from './fake-native.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli.js');
const LAYER = 'magnitude/grp_8/row_perm/sparsity_0.9/model.layers.0.self_attn.k_proj_permuted.pt';

function quiet() {
  const text: string[] = [];
  return { text, io: { out: (t: string) => void text.push(t), log: () => {} } };
}

describe('reproduce a run record', () => {
  const tmp = tempDir();
  const tree = join(tmp.dir, 'tree');
  const record = join(tmp.dir, 'base.csv.json');

  before(() => {
    cpSync(join(SHARED_WEIGHTS, 'pruned-tree'), tree, { recursive: true });
    const run = spawnSync(
      process.execPath,
      [CLI, 'run', tree, '--backend', 'cpu', '--filter', 'layers\\.0\\.self_attn\\.k_proj', '--m', '8', '--runs', '2', '--warmup', '0', '--seed', '7', '--out', join(tmp.dir, 'base.csv'), '--no-progress'],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
  });
  after(() => tmp.cleanup());

  it('re-runs the recorded command on the cpu and compares every point', async () => {
    const { io } = quiet();
    const r = await reproduceCommand(record, { weights: tree, out: join(tmp.dir, 'again', 'new.csv') }, io);
    assert.equal(r.notOk, 0);
    assert.equal(r.comparison.rows.length, 6);
    assert.ok(r.comparison.rows.every((x) => ['FAST', 'SLOW', 'SAME'].includes(x.verdict) && x.timing === 'samples'), JSON.stringify(r.comparison.counts));
    assert.deepEqual(r.comparison.environmentDifferences, []);
    const sidecar = JSON.parse(readFileSync(join(tmp.dir, 'again', 'new.csv.json'), 'utf8')) as { params: { seed: number; ms: number[]; runs: number; kernels: string[] } };
    assert.deepEqual([sidecar.params.seed, sidecar.params.ms, sidecar.params.runs, sidecar.params.kernels], [7, [8], 2, ['esmm', 'cublas', 'dense-tf32x3']]);
  });

  it('finds a moved file by its sha256', async () => {
    const moved = join(tmp.dir, 'moved');
    cpSync(tree, moved, { recursive: true });
    renameSync(join(moved, LAYER), join(moved, 'elsewhere.pt'));
    const r = await reproduceCommand(record, { weights: moved, out: join(tmp.dir, 'moved.csv'), threshold: '100%' }, quiet().io, { native: fakeNative() });
    assert.equal(r.comparison.counts.ONLY_BASE + r.comparison.counts.ONLY_NEW, 0);
  });

  it('compare matches a run of a sub-folder with the whole-tree run by file content', async () => {
    const sub = join(tmp.dir, 'sub.csv');
    await runCommand(
      join(tree, 'magnitude', 'grp_8'),
      { m: '8', kernels: 'esmm,cublas', orientation: 'linear', backend: 'cpu', device: '0', runs: '2', warmup: '0', l2: 'cold', seed: '7', filter: ['layers\\.0\\.self_attn\\.k_proj'], out: sub, resume: false, overwrite: false, progress: false },
      { native: fakeNative() },
    );
    const c = await compareCommand(join(tmp.dir, 'base.csv'), sub, {}, { out: () => {} });
    // Named col_perm/… here and grp_8/col_perm/… there: the same two files, found by their sha256
    // (the fake's times differ from the CPU's: only the matching is checked).
    assert.deepEqual([c.counts.FAST + c.counts.SLOW + c.counts.SAME, c.counts.ONLY_BASE, c.counts.ONLY_NEW], [4, 2, 0]);
    assert.deepEqual(c.rows.filter((r) => r.verdict === 'ONLY_BASE').map((r) => r.point.source.split('/')[0]), ['grp_16', 'grp_16']);
  });

  it('refuses an altered file by name (exit 1) and a missing one', async () => {
    const altered = join(tmp.dir, 'altered');
    cpSync(tree, altered, { recursive: true });
    const bytes = readFileSync(join(altered, LAYER));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(altered, LAYER), bytes);
    await assert.rejects(
      reproduceCommand(record, { weights: altered, out: join(tmp.dir, 'x.csv') }, quiet().io, { native: fakeNative() }),
      (err: Error & { code?: string }) => err.code === 'INTEGRITY' && err.message.startsWith(`${LAYER}: sha256 `) && /differs from the record's/.test(err.message),
    );
    const cli = spawnSync(process.execPath, [CLI, 'reproduce', record, '--weights', altered, '--out', join(tmp.dir, 'y.csv')], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.equal(cli.stderr.trim().split('\n').length, 1);
    assert.match(cli.stderr, new RegExp(`^esmm-bench: ${LAYER.replace(/\./g, '\\.')}: sha256`));
    rmSync(join(altered, LAYER));
    await assert.rejects(
      reproduceCommand(record, { weights: altered, out: join(tmp.dir, 'x.csv') }, quiet().io, { native: fakeNative() }),
      (err: Error & { code?: string }) => err.code === 'NOT_FOUND' && err.message.startsWith(`${LAYER}: no file under`),
    );
  });

  it('with the same timings every row is SAME; an existing --out is refused unless --overwrite', async () => {
    // The fake backend times every call alike: a fake base reproduced by the fake agrees exactly.
    const base = join(tmp.dir, 'fake', 'base.csv');
    assert.equal((await reproduceCommand(record, { weights: tree, out: base }, quiet().io, { native: fakeNative() })).notOk, 0);
    // Its record carries the reproduce command line; give it the run command it stands for.
    const rec = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { argv: string[] };
    rec.argv = ['node', 'cli.js', 'run', `${base}.weights`, '--backend', 'cpu', '--filter', 'layers\\.0\\.self_attn\\.k_proj', '--m', '8', '--runs', '2', '--warmup', '0', '--seed', '7', '--out', base];
    writeFileSync(`${base}.json`, JSON.stringify(rec));
    const again = await reproduceCommand(`${base}.json`, { weights: tree, out: join(tmp.dir, 'fake', 'again.csv') }, quiet().io, { native: fakeNative() });
    assert.equal(again.comparison.rows.length, 6);
    assert.ok(again.comparison.rows.every((x) => x.verdict === 'SAME'), JSON.stringify(again.comparison.counts));
    await assert.rejects(reproduceCommand(record, { weights: tree, out: base }, quiet().io, { native: fakeNative() }), /already exists: pass --overwrite/);
    const over = await reproduceCommand(record, { weights: tree, out: base, overwrite: true }, quiet().io, { native: fakeNative() });
    assert.equal(over.notOk, 0);
  });

  it('a sweep record: re-run and every point SAME under the fake backend', async () => {
    const out = join(tmp.dir, 'sweep.csv');
    const argv = ['node', 'cli.js', 'sweep', '--sizes', '64', '--densities', '1,0.5', '--modes', 'joint', '--backend', 'cpu', '--runs', '2', '--warmup', '0', '--out', out];
    await sweepCommand({ sizes: '64', densities: '1,0.5', modes: 'joint', kernels: 'esmm,cublas', backend: 'cpu', device: '0', runs: '2', warmup: '0', l2: 'cold', seed: '1', out }, { native: fakeNative() });
    const rec = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { argv: string[] };
    rec.argv = argv;
    writeFileSync(`${out}.json`, JSON.stringify(rec));
    const { io, text } = quiet();
    const r = await reproduceCommand(`${out}.json`, { out: join(tmp.dir, 'sweep2.csv'), json: true }, io, { native: fakeNative() });
    assert.equal(r.comparison.kind, 'sweep');
    assert.equal(r.comparison.rows.length, 4);
    assert.ok(r.comparison.rows.every((x) => x.verdict === 'SAME'));
    assert.equal((JSON.parse(text.join('')) as { counts: { SAME: number } }).counts.SAME, 4);
  });
});
