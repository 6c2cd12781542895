import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { randomMatrix, writeSafetensorsF32 } from '../pipeline/fixtures.js';
import { CPU_TINY, cli } from './cli-run.js';

const tmp = tempDir();
after(() => {
  chmodSync(join(tmp.dir, 'ro'), 0o755);
  tmp.cleanup();
});
const cache = ['--cache-dir', join(tmp.dir, 'c')];
const model = join(tmp.dir, 'model');
const norms = join(tmp.dir, 'norms');

before(() => {
  writeSafetensorsF32(join(model, 'model.safetensors'), {
    'fc.weight': { shape: [32, 32], data: randomMatrix(32, 32, 1, 0.5) },
    'fc.bias': { shape: [32], data: randomMatrix(1, 32, 2) },
    'norm.weight': { shape: [32], data: randomMatrix(1, 32, 3) },
  });
  writeSafetensorsF32(join(norms, 'only-norms.safetensors'), { 'norm.weight': { shape: [32], data: randomMatrix(1, 32, 3) } });
  writeSafetensorsF32(join(tmp.dir, 'ro', 'w.safetensors'), { w: { shape: [32, 32], data: randomMatrix(32, 32, 4, 0.5) } });
  chmodSync(join(tmp.dir, 'ro'), 0o555);
});

describe('one option set', () => {
  it('hf accepts every run flag (--labels, --a-dir)', async () => {
    const rules = join(tmp.dir, 'rules.json');
    writeFileSync(rules, JSON.stringify({ rules: [{ regex: 'model', label: 'family', value: 'tiny' }] }));
    const r = await cli(['hf', '--local', join(SHARED_WEIGHTS, 'tinystories-656k'), '--dry-run', '--labels', rules, '--a-dir', model, '--all-tensors']);
    assert.equal(r.code, 0, r.stderr);
  });
  it('--m 1,,2 is refused in run, hf and sweep-style lists', async () => {
    const r = await cli(['run', model, ...cache, '--backend', 'cpu', '--m', '1,,2', '--out', join(tmp.dir, 'x.csv')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--m takes positive integers separated by commas, got '1,,2'/);
    const h = await cli(['hf', '--local', model, '--m', '1,,2']);
    assert.equal(h.code, 2);
    assert.match(h.stderr, /--m takes positive integers/);
  });
  it('the same flag gets the same message in run and sweep', async () => {
    const r = await cli(['run', model, '--runs', 'abc', '--out', join(tmp.dir, 'y.csv')]);
    const s = await cli(['sweep', '--runs', 'abc', '--out', join(tmp.dir, 'y.csv')]);
    assert.equal(r.code, 2);
    assert.equal(s.code, 2);
    assert.equal(r.stderr, s.stderr);
    assert.match(r.stderr, /^esmm-bench: --runs must be a whole number ≥ 1, got 'abc'\n$/);
  });
  it("scan --threads abc gets one line naming the flag", async () => {
    const r = await cli(['scan', model, '--threads', 'abc']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^esmm-bench: scan: --threads must be a whole number from 1 to 64, got 'abc'\n$/);
  });
});

describe('nothing found is not success', () => {
  it('a tree without a 2-D tensor: run and scan exit 1 and say so', async () => {
    const r = await cli(['run', norms, ...CPU_TINY, ...cache, '--out', join(tmp.dir, 'n.csv')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /nothing to benchmark: no 2-D float tensor/);
    const s = await cli(['scan', norms]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /nothing found/);
  });
  it('a --filter that matches nothing exits 1 and says so', async () => {
    const r = await cli(['run', model, ...CPU_TINY, ...cache, '--out', join(tmp.dir, 'f.csv'), '--filter', 'no-such-tensor']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /kept none of the 1 tensors/);
  });
  it('1-D norm and bias tensors are "not a matrix", not a failure: exit 0', async () => {
    const r = await cli(['run', model, ...CPU_TINY, ...cache, '--out', join(tmp.dir, 'm.csv')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /2 ok, 0 failed, 0 skipped, 2 not a matrix/);
    const s = await cli(['scan', model]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /0 skipped, 2 not a matrix, 0 failed/);
  });
});

describe('pattern cache of read-only weights', () => {
  it('falls back to $XDG_CACHE_HOME/esmm-bench, says so, and writes nothing beside the weights', async () => {
    const ro = join(tmp.dir, 'ro');
    const xdg = join(tmp.dir, 'xdg');
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: xdg };
    delete env.ESMM_CACHE_DIR;
    const r = await cli(['run', ro, ...CPU_TINY, '--out', join(tmp.dir, 'ro.csv')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`${ro} is read-only, using ${join(xdg, 'esmm-bench')}`));
    assert.deepEqual(readdirSync(ro), ['w.safetensors']);
    assert.ok(existsSync(join(xdg, 'esmm-bench')));
    const c = await cli(['cache', ro, '--backend', 'cpu'], { env });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /1 reused, .* in .*xdg\/esmm-bench\n/);
    assert.deepEqual(readdirSync(ro), ['w.safetensors']);
  });
});
