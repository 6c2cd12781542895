/**
 * Runs the weight-tree pipeline (fake native binding, real reading, orienting and patterns)
 * over the tree in argv[2] and prints its run record's peak resident size. A separate
 * process per tree, since the peak of a process only ever grows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { runCommand } from '../../src/commands/run.js';
import { fakeNative } from '../pipeline/fake-native.js';
import { cpuRunFlags } from '../pipeline/fixtures.js';

const [tree, outDir] = process.argv.slice(2);
// The fake logs every call (with its B); this run keeps none, as the real binding does.
const native = fakeNative();
const benchmark = native.benchmark.bind(native);
native.benchmark = async (p) => {
  const result = await benchmark(p);
  native.calls.length = 0;
  return result;
};
const summary = await runCommand(tree!, cpuRunFlags(join(outDir!, 'run.csv'), join(outDir!, 'cache'), { m: '16', runs: '1', overwrite: true }), { native });
const record = JSON.parse(readFileSync(summary.sidecarPath, 'utf8')) as { peakRssBytes: number };
process.stdout.write(JSON.stringify({ rows: summary.rows, peakRssBytes: record.peakRssBytes }) + '\n');
