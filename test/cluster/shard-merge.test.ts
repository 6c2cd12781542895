import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { kernelRoles } from '../../src/bench/kernel-roles.js';
import { planTreePoints } from '../../src/bench/plan-points.js';
import { assignShards, parseShard, shardPlan } from '../../src/bench/shard-plan.js';
import { runCommand } from '../../src/commands/run.js';
import { slurmCommand, splitSlurmArgs } from '../../src/commands/slurm.js';
import { mergeResults } from '../../src/output/merge-results.js';
import { walkWeights } from '../../src/weights/index.js';
import { tempDir } from '../helpers.js';
import { FAKE_REGISTRY, fakeNative } from '../pipeline/fake-native.js';
import { cpuRunFlags, randomMatrix, runCli, writeSafetensorsF32 } from '../pipeline/fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const tree = join(tmp.dir, 'tree');

before(() => {
  // Nine tensors of very different cost in three files, and one file that cannot be read.
  const shapes = [
    [64, 32],
    [16, 16],
    [128, 64],
    [32, 32],
    [8, 8],
    [96, 48],
    [24, 40],
    [64, 64],
    [16, 72],
  ];
  for (let f = 0; f < 3; f++) {
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (let t = 0; t < 3; t++) {
      const [rows, cols] = shapes[f * 3 + t];
      tensors[`layers.${t}.mlp.weight`] = { shape: [rows, cols], data: randomMatrix(rows, cols, 7 + f * 3 + t, 0.5) };
    }
    writeSafetensorsF32(join(tree, `part-${f}`, 'model.safetensors'), tensors);
  }
  writeFileSync(join(tree, 'broken.safetensors'), 'not a checkpoint');
});

const runOpts = (out: string, extra: Record<string, unknown> = {}) => cpuRunFlags(out, join(tmp.dir, 'cache'), { kernels: 'esmm,cublas,cublas-tf32', ...extra });

const rowsOf = (csv: string): Record<string, string>[] => parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];

describe('--shard and merge', () => {
  it('the partition covers every source once, balanced by cost, and does not depend on the order of the tensors', async () => {
    const walk = await walkWeights({ root: tree });
    const plan = planTreePoints({ tensors: walk.tensors, skipped: walk.skipped, orientation: 'linear', ms: [4, 16], kernels: ['esmm'], backend: 'cpu', roles: kernelRoles(FAKE_REGISTRY, 'cpu') });
    assert.equal(plan.sources.length, 10);
    const shardOf = assignShards(plan, 3);
    const reversed = { ...plan, sources: [...plan.sources].reverse() };
    const shardOfReversed = assignShards(reversed, 3);
    plan.sources.forEach((s, i) => assert.equal(shardOfReversed[plan.sources.length - 1 - i], shardOf[i], s.key));
    const parts = [0, 1, 2].map((index) => shardPlan(plan, { index, count: 3 }).sources);
    assert.deepEqual(parts.flat().map((s) => s.key).sort(), plan.sources.map((s) => s.key).sort());
    const loads = parts.map((p) => p.reduce((t, s) => t + s.cost, 0));
    const largest = Math.max(...plan.sources.map((s) => s.cost));
    assert.ok(Math.max(...loads) - Math.min(...loads) <= largest, `loads ${loads.join(', ')}`);
    assert.ok(parts.every((p) => p.length > 0));
    assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
    for (const bad of ['3/3', '1', '-1/2', 'a/b', '0/0']) assert.throws(() => parseShard(bad), /--shard/);
  });

  it('three shards merged hold exactly the rows of one unsharded run, in its order', async () => {
    const native = fakeNative();
    const full = join(tmp.dir, 'full.csv');
    await runCommand(tree, runOpts(full), { native });
    const parts = [0, 1, 2].map((i) => join(tmp.dir, `shard-${i}.csv`));
    for (let i = 0; i < 3; i++) await runCommand(tree, runOpts(parts[i], { shard: `${i}/3` }), { native });
    const shardRows = parts.map((p) => rowsOf(p).length);
    assert.ok(shardRows.every((n) => n > 0), shardRows.join(','));
    // A part given twice: its rows are duplicates and are dropped.
    const merged = join(tmp.dir, 'merged.csv');
    const s = await mergeResults({ parts: [parts[2], parts[0], parts[1], parts[0]], out: merged });
    assert.equal(s.duplicates, shardRows[0]);
    const a = rowsOf(full);
    const b = rowsOf(merged);
    assert.equal(b.length, a.length);
    assert.equal(a.length, 9 * 2 * 3 + 1);
    assert.deepEqual(b, a);
    const record = JSON.parse(readFileSync(`${merged}.json`, 'utf8'));
    assert.equal(record.kind, 'merge');
    assert.equal(record.parts.length, 4);
    assert.deepEqual(
      record.parts.map((p: { records: { shard: { index: number } }[] }) => p.records[0].shard.index),
      [2, 0, 1, 0],
    );
    assert.equal(record.summary.rows, a.length);
    const samples = readFileSync(`${merged}.samples.jsonl`, 'utf8').trim().split('\n');
    assert.equal(samples.length, readFileSync(`${full}.samples.jsonl`, 'utf8').trim().split('\n').length);
  });

  it('--resume of a shard with another --shard is refused: the rows would mix two partitions', async () => {
    const native = fakeNative();
    const out = join(tmp.dir, 'resume-shard.csv');
    await runCommand(tree, runOpts(out, { shard: '0/3' }), { native });
    const before = readFileSync(out, 'utf8');
    await assert.rejects(runCommand(tree, runOpts(out, { shard: '1/3', resume: true }), { native }), /--shard 0\/3 → 1\/3/);
    assert.equal(readFileSync(out, 'utf8'), before);
    await runCommand(tree, runOpts(out, { shard: '0/3', resume: true }), { native });
  });

  it('merge refuses parts with other settings or cards (exit 2) unless --allow-mixed', async () => {
    const native = fakeNative();
    const other = join(tmp.dir, 'other-runs.csv');
    await runCommand(tree, runOpts(other, { shard: '1/3', runs: '3' }), { native });
    const refused = await runCli(['merge', join(tmp.dir, 'shard-0.csv'), other, '--out', join(tmp.dir, 'mixed.csv')]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /differ in runs \(2 vs 3\).*--allow-mixed/);
    const allowed = await runCli(['merge', join(tmp.dir, 'shard-0.csv'), other, '--out', join(tmp.dir, 'mixed.csv'), '--allow-mixed']);
    assert.equal(allowed.code, 1, allowed.stderr); // the broken file's skipped row
    assert.match(allowed.stdout, /rows/);

    // Same settings, another card.
    const card = join(tmp.dir, 'other-card.csv');
    const text = readFileSync(join(tmp.dir, 'shard-1.csv'), 'utf8').replaceAll(',cpu (fake),', ',Other Card,');
    writeFileSync(card, text);
    writeFileSync(`${card}.json`, readFileSync(join(tmp.dir, 'shard-1.csv.json')));
    const cards = await runCli(['merge', join(tmp.dir, 'shard-0.csv'), card, '--out', join(tmp.dir, 'cards.csv')]);
    assert.equal(cards.code, 2, cards.stderr);
    assert.match(cards.stderr, /different cards \(.*Other Card.*\)/);
    const missing = await runCli(['merge', join(tmp.dir, 'nope.csv'), '--out', join(tmp.dir, 'x.csv')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such CSV: .*nope\.csv/);
  });
});

describe('slurm job scripts', () => {
  it('splits the run arguments from slurm flags; the job sets --out, --shard and --resume per shard', () => {
    const o = splitSlurmArgs(['run', 'tree', '--m', '16', '--shards', '4', '--out=study.csv', '--gpus-per-task', '2', '--resume', '--submit']);
    assert.equal(o.command, 'run');
    assert.deepEqual(o.args, ['tree', '--m', '16']);
    assert.equal(o.out, 'study.csv');
    assert.deepEqual(o.own, { '--shards': ['4'], '--gpus-per-task': ['2'], '--submit': ['true'] });
  });

  it('writes an array of shards, a merge job and a submit script with afterok; refuses bad run flags', async () => {
    const dir = join(tmp.dir, 'job');
    const lines: string[] = [];
    const files = await slurmCommand(
      ['run', 'my tree', '--m', '1,16', '--backend', 'cpu', '--out', 'study.csv', '--shards', '3', '--gpus-per-task', '2', '--partition', 'gpu', '--time', '01:00:00', '--out-dir', dir, '--sbatch-arg=--account=proj'],
      { print: (l) => lines.push(l), cwd: tmp.dir, env: { ESMM_CACHE_DIR: '/shared/patterns', HF_HOME: '/shared/hf' } },
    );
    const array = readFileSync(files.arrayScript, 'utf8');
    for (const line of ['#SBATCH --array=0-2', '#SBATCH --gpus-per-task=2', '#SBATCH --partition=gpu', '#SBATCH --time=01:00:00', '#SBATCH --account=proj']) {
      assert.ok(array.includes(line + '\n'), line);
    }
    assert.match(array, /export ESMM_CACHE_DIR=\/shared\/patterns\n/);
    assert.match(array, /export HF_HUB_CACHE=\/shared\/hf\/hub\n/);
    assert.match(array, / run 'my tree' --m 1,16 --backend cpu --devices all --shard "\$shard\/3" --out \S+\/parts\/shard-"\$shard"\.csv --resume --no-progress\n/);
    const merge = readFileSync(files.mergeScript, 'utf8');
    assert.match(merge, / merge \S+shard-0\.csv \S+shard-1\.csv \S+shard-2\.csv --out \S+\/study\.csv --overwrite\n/);
    assert.match(readFileSync(files.submitScript, 'utf8'), /sbatch --parsable --dependency=afterok:"\$array" "\$here\/merge\.sbatch"/);
    assert.equal(lines.length, 3);

    await assert.rejects(slurmCommand(['run', 'tree', '--runs', '0', '--shards', '2'], { print: () => {}, cwd: tmp.dir }), /--runs must be a whole number ≥ 1/);
    await assert.rejects(slurmCommand(['run', 'tree', '--shard', '0/2', '--nope'], { print: () => {}, cwd: tmp.dir }), /unknown option '--nope'/);
    await assert.rejects(slurmCommand(['run', 'tree'], { print: () => {}, cwd: tmp.dir }), /--shards <n> .* is required/);
  });
});
