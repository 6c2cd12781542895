import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

import { REPO_ROOT } from '../helpers.js';
import { cliArgv } from '../pipeline/fixtures.js';

/**
 * Start-up cost of the CLI over bare node, in seconds: the fastest of several runs, since
 * a loaded machine only ever adds time (docs/startup.md). Each command's module loads only
 * when it runs, so `--help` and `doctor` load commander, the addon and little else: about
 * 0.03 and 0.04 s over node here, against 0.35 s when every command was loaded up front.
 */
function overheadS(args: string[]): { overhead: number; node: number } {
  const fastest = (argv: string[]): number => {
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, argv, { cwd: REPO_ROOT, stdio: 'ignore' });
      assert.equal(r.status, 0);
      best = Math.min(best, performance.now() - t);
    }
    return best / 1000;
  };
  const node = fastest(['-e', '0']);
  return { overhead: fastest([...cliArgv(), ...args]) - node, node };
}

/**
 * Generous (3× what is measured here) yet well below the 0.35 s of loading every command; on
 * a machine so loaded that node itself takes longer, as much again as node (loading every
 * command costs 2.5–3.5 times node).
 */
const BOUND_S = 0.15;

it('--help and doctor start within 0.15 s of bare node', { skip: cliArgv()[0] === '--import' ? 'through tsx the compile dominates' : false }, () => {
  for (const args of [['--help'], ['doctor']]) {
    const { overhead, node } = overheadS(args);
    assert.ok(overhead < Math.max(BOUND_S, node), `${args[0]}: ${overhead.toFixed(3)} s over node (${node.toFixed(3)} s)`);
  }
});
