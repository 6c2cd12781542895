import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { parse } from 'csv-parse/sync';

import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { runCli, spawnCli } from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

function dataLines(csv: string): number {
  if (!existsSync(csv)) return 0;
  return readFileSync(csv, 'utf8').split('\n').filter((l) => l !== '').length - 1;
}

it('SIGKILL mid-run, a half-written line, then --resume: exactly one row per point', async () => {
  const csv = join(tmp.dir, 'resume.csv');
  const ms = [8, 16, 32];
  const args = [
    'run',
    join(SHARED_WEIGHTS, 'pruned-tree'),
    '--backend', 'cpu',
    '--m', ms.join(','),
    // Hot L2: the CPU backend's cache flush per sample would make this test slow.
    '--runs', '40',
    '--warmup', '0',
    '--l2', 'hot',
    '--out', csv,
    '--cache-dir', join(tmp.dir, 'cache'),
    '--no-progress',
  ];
  const child = spawnCli(args);
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const deadline = Date.now() + 60_000;
  while (dataLines(csv) < 12 && Date.now() < deadline) await sleep(20);
  child.kill('SIGKILL');
  await exited;
  const before = readFileSync(csv, 'utf8');
  const rowsBefore = before.split('\n').filter((l) => l !== '').length - 1;
  assert.ok(rowsBefore >= 12 && rowsBefore < 42 * ms.length * 2, `killed after ${rowsBefore} rows`);
  assert.ok(existsSync(`${csv}.lock`), 'the killed run leaves its lock; the resume takes it over');
  // What a kill inside write() would leave: a record without its newline.
  appendFileSync(csv, before.split('\n')[1].slice(0, 57));

  const resumed = await runCli([...args, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const text = readFileSync(csv, 'utf8');
  assert.ok(text.startsWith(before), 'complete rows of the killed run are kept as they were');
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  const keys = rows.map((r) => `${r.source_file}|${r.m}|${r.kernel}`);
  assert.equal(new Set(keys).size, keys.length, 'no point twice');
  assert.equal(rows.length, 42 * ms.length * 2);
  assert.ok(rows.every((r) => r.status === 'ok'));
  assert.deepEqual([...new Set(rows.map((r) => r.run))].sort(), ['1', '2']);
  assert.ok(existsSync(`${csv}.json`) && existsSync(`${csv}.run-2.json`), 'each run keeps its own sidecar');
  assert.equal(existsSync(`${csv}.lock`), false);

  const again = await runCli([...args, '--resume']);
  assert.equal(again.code, 0);
  assert.equal(readFileSync(csv, 'utf8'), text, 'a resume with nothing left to do appends nothing');

  const refused = await runCli(args);
  assert.equal(refused.code, 2, 'an existing CSV is never overwritten without --resume/--overwrite');
  assert.match(refused.stderr, /already exists/);
});
