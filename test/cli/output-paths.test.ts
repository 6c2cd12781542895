import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { tempDir } from '../helpers.js';
import { randomMatrix, writeSafetensorsF32 } from '../pipeline/fixtures.js';
import { CPU_TINY, cli } from './cli-run.js';

const tmp = tempDir();
after(() => tmp.cleanup());

const tree = join(tmp.dir, 'tree');
const csv = join(tmp.dir, 'ok.csv');

/** Generous against a loaded machine; the old code never ended at all. */
const LIMIT_S = 5;

before(async () => {
  writeSafetensorsF32(join(tree, 'm.safetensors'), { w: { shape: [32, 32], data: randomMatrix(32, 32, 1, 0.5) } });
  const r = await cli(['run', tree, ...CPU_TINY, '--out', csv, '--cache-dir', join(tmp.dir, 'c')]);
  assert.equal(r.code, 0, r.stderr);
  // A file standing where a folder should be.
  writeFileSync(join(tmp.dir, 'a-file'), 'x');
});

function assertRefused(r: Awaited<ReturnType<typeof cli>>, path: string): void {
  assert.equal(r.killed, false, `still running after the limit: ${r.stderr}`);
  assert.ok(r.seconds < LIMIT_S, `took ${r.seconds.toFixed(1)} s`);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(path), `the message names ${path}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\.lock/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
}

describe('an output path that cannot be created ends at once with exit 2, naming it', () => {
  for (const bad of ['/proc/esmm-x/foo.csv', '/proc/foo.csv']) {
    it(`run --out ${bad}`, async () => {
      assertRefused(await cli(['run', tree, ...CPU_TINY, '--out', bad, '--cache-dir', join(tmp.dir, 'c')], { timeoutMs: 20_000 }), bad);
    });
  }
  it('run --out under a file', async () => {
    const bad = join(tmp.dir, 'a-file', 'sub', 'r.csv');
    assertRefused(await cli(['run', tree, ...CPU_TINY, '--out', bad, '--cache-dir', join(tmp.dir, 'c')], { timeoutMs: 20_000 }), bad);
  });
  it('sweep --out /proc/esmm-x/s.csv', async () => {
    const bad = '/proc/esmm-x/s.csv';
    assertRefused(await cli(['sweep', '--backend', 'cpu', '--sizes', '32', '--out', bad], { timeoutMs: 20_000 }), bad);
  });
  it('default --out-dir /proc/esmm-x', async () => {
    assertRefused(await cli(['default', '--backend', 'cpu', '--out-dir', '/proc/esmm-x'], { timeoutMs: 20_000 }), '/proc/esmm-x');
  });
  it('report --out-dir /proc/esmm-x', async () => {
    assertRefused(await cli(['report', csv, '--no-plots', '--out-dir', '/proc/esmm-x'], { timeoutMs: 20_000 }), '/proc/esmm-x');
  });
  it('cache --cache-dir /proc/esmm-x and under a file', async () => {
    assertRefused(await cli(['cache', tree, '--backend', 'cpu', '--cache-dir', '/proc/esmm-x'], { timeoutMs: 20_000 }), '/proc/esmm-x');
    const bad = join(tmp.dir, 'a-file', 'cache');
    assertRefused(await cli(['cache', tree, '--backend', 'cpu', '--cache-dir', bad], { timeoutMs: 20_000 }), bad);
    assert.equal(existsSync(join(tree, '.esmm-cache')), false);
  });
});
