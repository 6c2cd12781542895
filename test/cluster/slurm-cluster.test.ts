import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { runCommand } from '../../src/commands/run.js';
import { slurmCommand } from '../../src/commands/slurm.js';
import { TIMING_COLUMNS } from '../../src/output/columns.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { cpuRunFlags } from '../pipeline/fixtures.js';
import { type LocalSlurm, ensureSlurmInstalled, startLocalSlurm, waitForJobs } from './local-slurm.js';

/** Columns that are measurements of time, and so differ between any two runs (on the CPU also the calls per sample). */
const TIMING = new Set<string>([...TIMING_COLUMNS, 'calls_per_sample']);
const TREE = join(SHARED_WEIGHTS, 'pruned-tree');
const RUN_ARGS = ['--backend', 'cpu', '--m', '8', '--kernels', 'esmm,cublas', '--runs', '1', '--warmup', '0', '--l2', 'hot'];

const skip = ensureSlurmInstalled((line) => void process.stderr.write(line + '\n'));
if (skip) process.stderr.write(`skipping the Slurm test: ${skip}\n`);

describe('a study on a real one-node Slurm cluster: 3 shards as a job array, then the merge job', { skip: skip ?? false }, () => {
  const tmp = tempDir('esmm-slurm-');
  let cluster: LocalSlurm | undefined;
  after(async () => {
    try {
      await cluster?.stop();
    } finally {
      tmp.cleanup();
    }
  });

  let unsharded: Record<string, string>[];
  let merged: Record<string, string>[];
  let states: Record<string, string>[];
  before(async () => {
    cluster = await startLocalSlurm(join(tmp.dir, 'cluster'));
    const patterns = join(tmp.dir, 'patterns');
    const job = await slurmCommand(
      ['run', TREE, ...RUN_ARGS, '--out', 'study.csv', '--shards', '3', '--gpus-per-task', '0', '--out-dir', join(tmp.dir, 'job'), '--pattern-cache', patterns, '--submit'],
      { print: () => {}, cwd: tmp.dir, env: cluster.env },
    );
    const ids = /array job (\d+) \(3 shards\), merge job (\d+) \(afterok:\1\)/.exec(job.submitted ?? '');
    assert.ok(ids, job.submitted ?? 'nothing submitted');
    // The unsharded run, while the cluster works.
    await runCommand(TREE, cpuRunFlags(join(tmp.dir, 'unsharded.csv'), join(tmp.dir, 'own-patterns'), { m: '8', runs: '1' }));
    states = await waitForJobs(cluster, [ids[1], ids[2]], 300_000);
    unsharded = parse(readFileSync(join(tmp.dir, 'unsharded.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const mergedText = (() => {
      try {
        return readFileSync(join(tmp.dir, 'study.csv'), 'utf8');
      } catch {
        return '';
      }
    })();
    merged = parse(mergedText, { columns: true }) as Record<string, string>[];
  });

  it('every array task and the merge job complete', () => {
    const summary = states.map((s) => `${s.JobId}${s.ArrayTaskId ? '_' + s.ArrayTaskId : ''} ${s.JobName} ${s.JobState} ${s.Reason}`).join('\n');
    assert.equal(states.filter((s) => s.JobName === 'esmm-bench').length, 3, summary);
    const jobLogs = ['shard-0.out', 'shard-1.out', 'shard-2.out', 'merge.out']
      .map((f) => join(tmp.dir, 'job', 'logs', f))
      .filter((f) => existsSync(f))
      .map((f) => `== ${f}\n${readFileSync(f, 'utf8').slice(-2000)}`)
      .join('\n');
    assert.ok(states.every((s) => s.JobState === 'COMPLETED'), `${summary}\n${jobLogs}\n${cluster?.logs()}`);
  });

  it('the merged CSV holds exactly the points of one unsharded run, in its order, with the same deterministic columns', () => {
    assert.equal(unsharded.length, 84);
    assert.equal(merged.length, unsharded.length);
    unsharded.forEach((a, i) => {
      const b = merged[i];
      for (const [col, value] of Object.entries(a)) if (!TIMING.has(col)) assert.equal(b[col], value, `row ${i} (${a.source_file} ${a.kernel}) column ${col}`);
    });
    const record = JSON.parse(readFileSync(join(tmp.dir, 'study.csv.json'), 'utf8'));
    assert.equal(record.kind, 'merge');
    assert.deepEqual(
      record.parts.map((p: { records: { shard: { index: number; count: number } }[] }) => p.records[0].shard),
      [0, 1, 2].map((index) => ({ index, count: 3 })),
    );
  });
});
