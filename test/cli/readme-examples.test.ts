import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { REPO_ROOT, tempDir } from '../helpers.js';
import { spawnCli } from '../pipeline/fixtures.js';
import { cli } from './cli-run.js';

const tmp = tempDir();
after(() => tmp.cleanup());

/** Every `$ esmm-bench …` line of the README, without its trailing comment. */
const examples = [...readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/^\$ esmm-bench (.+)$/gm)].map((m) =>
  m[1].replace(/\s+#.*$/, '').trim().split(/\s+/),
);
/** The pattern cache and outputs of these runs go to a temporary folder, never into the weights. */
const env: NodeJS.ProcessEnv = { ...process.env, ESMM_CACHE_DIR: join(tmp.dir, 'cache') };
const needsNetwork = (args: string[]): boolean => args[0] === 'hf' && !args.includes('--local');
/** Flags whose value is a file the command writes. */
const OUTPUT_FLAGS = new Set(['--out', '--out-dir', '--md', '--csv']);
/**
 * An example that reads what an earlier example wrote under out/ (a chain such as run →
 * reproduce → report): the earlier one runs here with its output redirected, so the chain is not
 * replayed; every path the example names is still checked above.
 */
const readsEarlierOutput = (args: string[]): boolean => args.some((a, i) => a.startsWith('out/') && !OUTPUT_FLAGS.has(args[i - 1] ?? ''));

describe('the README examples run as written from a checkout', () => {
  it('every path they name exists beside the checkout', () => {
    assert.ok(examples.length >= 8, `${examples.length} examples`);
    for (const args of examples) {
      for (const a of args.filter((x) => x.startsWith('../') || x.startsWith('docs/'))) {
        assert.ok(existsSync(resolve(REPO_ROOT, a)), `${args.join(' ')}: ${a}`);
      }
    }
  });

  for (const args of examples) {
    if (needsNetwork(args) || readsEarlierOutput(args)) continue;
    it(`esmm-bench ${args.join(' ')}`, async () => {
      const out = join(tmp.dir, `${args[0]}-${examples.indexOf(args)}`);
      let extra: string[] = [];
      let expected = 0;
      if (args[0] === 'run') {
        // The example's own sizes are for a GPU; a filter that keeps nothing still checks the
        // path and every flag, and must say so (exit 1).
        extra = ['--backend', 'cpu', '--filter', '^no-such-tensor$', '--out', `${out}.csv`];
        expected = 1;
      } else if (args[0] === 'sweep') {
        extra = ['--out', `${out}.csv`];
      } else if (args[0] === 'report') {
        extra = ['--no-plots', '--out-dir', out];
      }
      const r = await cli([...args, ...extra], { env, timeoutMs: 120_000 });
      assert.equal(r.killed, false, 'still running after 2 minutes');
      assert.equal(r.code, expected, r.stderr);
      if (args[0] === 'run') assert.match(r.stdout, /kept none of the \d+ tensors/);
      if (args[0] === 'sweep' && r.stdout.includes('cpu backend')) assert.match(r.stdout, /^256x256x256 /m);
    });
  }
});

describe('an interrupted sweep leaves no stale lock', () => {
  const waitForRows = async (csv: string): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (existsSync(csv) && readFileSync(csv, 'utf8').split('\n').length > 2) return;
      await sleep(20);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} mid-sweep removes the lock; the next sweep appends`, async () => {
      const csv = join(tmp.dir, `sweep-${signal}.csv`);
      const args = ['sweep', '--backend', 'cpu', '--sizes', '64,128,192,256', '--runs', '20', '--warmup', '0', '--out', csv];
      const child = spawnCli(args);
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
      await waitForRows(csv);
      assert.ok(existsSync(`${csv}.lock`), 'the sweep holds its lock while it runs');
      child.kill(signal);
      assert.equal(await exited, signal, 'the process still ends by the signal');
      assert.equal(existsSync(`${csv}.lock`), false, 'no stale lock');
      const again = await cli([...args.slice(0, -2), '--sizes', '32', '--out', csv]);
      assert.equal(again.code, 0, again.stderr);
    });
  }
  it('after SIGKILL the next sweep takes the dead process’s lock over', async () => {
    const csv = join(tmp.dir, 'sweep-kill.csv');
    const child = spawnCli(['sweep', '--backend', 'cpu', '--sizes', '64,128,192,256', '--runs', '20', '--warmup', '0', '--out', csv]);
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await waitForRows(csv);
    child.kill('SIGKILL');
    await exited;
    const again = await cli(['sweep', '--backend', 'cpu', '--sizes', '32', '--runs', '1', '--warmup', '0', '--out', csv]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(existsSync(`${csv}.lock`), false);
  });
});
