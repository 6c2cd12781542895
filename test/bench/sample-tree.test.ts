import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { type SampleTreeSpec, ensureSampleTree, sampleTreeTensors } from '../../src/bench/sample-tree.js';
import { tempDir, treeDigest } from '../helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

// Two layers, both perms, two groups (one that does not divide the widths) and two sparsities.
const spec: SampleTreeSpec = { hidden: 64, intermediate: 176, layers: 2, sparsities: [0.5, 0.9], groups: [8, 16], perms: ['col', 'row'], seed: 3 };
const odd: SampleTreeSpec = { hidden: 40, intermediate: 100, layers: 1, sparsities: [0.3, 0.75], groups: [7], perms: ['col', 'row'], seed: 11 };

it('a generated tree is the same bytes on one thread and on several, and as the generator has always made it', async () => {
  const serial = join(tmp.dir, 'serial');
  const parallel = join(tmp.dir, 'parallel');
  const seen: string[] = [];
  assert.equal(await ensureSampleTree(serial, spec), true);
  assert.equal(await ensureSampleTree(parallel, spec, () => {}, { jobs: 3, onTensor: (_done, _total, t) => seen.push(t.name) }), true);
  // Every tensor once, largest first.
  assert.equal(seen.length, 14);
  assert.deepEqual([...seen].sort(), sampleTreeTensors(spec).map((t) => t.name).sort());
  assert.match(seen[0], /mlp\.(gate|up|down)_proj/);
  const files = readdirSync(join(parallel, 'generated-magnitude', 'grp_8', 'row_perm', 'sparsity_0.9'));
  assert.equal(files.length, 14);
  assert.equal(treeDigest(parallel), treeDigest(serial));
  // Pinned: the digest of this spec's tree as the generator wrote it before it was made faster.
  assert.equal(treeDigest(serial), '8968e2c6234039cc75af3f7aaecdc6e12161f68947aab7dec28eee3b5a5074bf');
  await ensureSampleTree(join(tmp.dir, 'odd'), odd, () => {}, { jobs: 2 });
  assert.equal(treeDigest(join(tmp.dir, 'odd')), '468279278801c4314d07f5ca1be43bf4581747e29c16831d5acebfea904a0abb');
  // Complete (TREE.json says so): left as it is.
  assert.equal(await ensureSampleTree(parallel, spec, () => {}, { jobs: 3 }), false);
});
