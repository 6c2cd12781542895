import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { captureCommand } from '../../src/commands/capture.js';
import { runCommand } from '../../src/commands/run.js';
import { mergeResults } from '../../src/output/merge-results.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { fakeNative } from '../pipeline/fake-native.js';
import { cpuRunFlags } from '../pipeline/fixtures.js';

const TINY = join(SHARED_WEIGHTS, 'tinystories-656k');
const tmp = tempDir();
after(() => tmp.cleanup());

const rowsOf = (csv: string): Record<string, string>[] => parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
/** What identifies a row of an activation run: one weight has several (B, A, M) pairs. */
const point = (r: Record<string, string>): string => [r.source_file, r.tensor, r.m, r.kernel, r.a_source, JSON.parse(r.labels_json).variant ?? ''].join(' ');

describe('--shard with run --activations', () => {
  it('the shards of an activation run, merged, hold the points of one unsharded run in its order', async () => {
    const dump = join(tmp.dir, 'dense.safetensors');
    await captureCommand(TINY, { tokens: '1,432,77,1203,9,15,600,1999', out: dump }, () => {});
    const weights = join(TINY, 'model.safetensors');
    const flags = (out: string, extra: Record<string, unknown> = {}) =>
      cpuRunFlags(out, join(tmp.dir, 'cache'), { activations: dump, control: 'random', m: '8,16', kernels: 'esmm', filter: ['layers\\.0\\.mlp'], ...extra });
    const native = fakeNative();
    const full = join(tmp.dir, 'full.csv');
    await runCommand(weights, flags(full), { native });
    const parts = [0, 1, 2].map((i) => join(tmp.dir, `shard-${i}.csv`));
    for (let i = 0; i < 3; i++) await runCommand(weights, flags(parts[i], { shard: `${i}/3` }), { native });
    assert.ok(parts.every((p) => rowsOf(p).length > 0));
    const merged = join(tmp.dir, 'merged.csv');
    await mergeResults({ parts: [parts[2], parts[1], parts[0]], out: merged });
    const expected = rowsOf(full).map(point);
    // Three MLP weights × two M × six pairs, and the checkpoint's 1-D weights as skipped rows.
    assert.equal(expected.filter((p) => p.endsWith(' joint')).length, 3 * 2);
    assert.deepEqual(rowsOf(merged).map(point), expected);
  });
});
