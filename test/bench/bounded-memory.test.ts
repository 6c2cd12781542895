import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, it } from 'node:test';

import { tempDir } from '../helpers.js';
import { randomMatrix, writeSafetensorsF32 } from '../pipeline/fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

/** `count` files of one 2048×2048 float32 tensor (16 MiB; large enough to be transposed on worker threads) each. */
function writeTree(dir: string, count: number): void {
  const data = randomMatrix(2048, 2048, 1, 0.5);
  for (let i = 0; i < count; i++) {
    writeSafetensorsF32(join(dir, `layer-${String(i).padStart(3, '0')}`, 'model.safetensors'), { 'mlp.weight': { shape: [2048, 2048], data } });
  }
}

function peakOf(tree: string, out: string): { rows: number; peakRssBytes: number } {
  const here = fileURLToPath(import.meta.url);
  const child = join(here, '..', here.endsWith('.ts') ? 'memory-child.ts' : 'memory-child.js');
  const args = here.endsWith('.ts') ? ['--import', 'tsx', child] : [child];
  return JSON.parse(execFileSync(process.execPath, [...args, tree, out], { encoding: 'utf8' })) as { rows: number; peakRssBytes: number };
}

it('host memory does not grow with the tree: 8× the tensors, about the same peak resident size (run record)', () => {
  writeTree(join(tmp.dir, 'small'), 3);
  writeTree(join(tmp.dir, 'large'), 24);
  const small = peakOf(join(tmp.dir, 'small'), join(tmp.dir, 'out-small'));
  const large = peakOf(join(tmp.dir, 'large'), join(tmp.dir, 'out-large'));
  assert.equal(small.rows, 3 * 2);
  assert.equal(large.rows, 24 * 2);
  assert.ok(small.peakRssBytes > 20 << 20, `peak ${small.peakRssBytes}`);
  // Keeping each tensor's buffers (16 MiB read, 16 MiB oriented) would add ≥ 672 MiB over the small tree.
  const growth = large.peakRssBytes - small.peakRssBytes;
  assert.ok(growth < 128 << 20, `peak resident grew by ${(growth / 2 ** 20).toFixed(0)} MiB (small ${(small.peakRssBytes / 2 ** 20).toFixed(0)} MiB, large ${(large.peakRssBytes / 2 ** 20).toFixed(0)} MiB)`);
});
