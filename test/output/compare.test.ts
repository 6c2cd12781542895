import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { compareCommand, regressions } from '../../src/commands/compare.js';
import type { Comparison } from '../../src/output/compare-results.js';
import { REPO_ROOT, tempDir } from '../helpers.js';

const SWEEP = join(REPO_ROOT, 'docs', 'results', 'sweep-h100.csv');
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli.js');

async function compare(base: string, next: string, raw: Record<string, unknown> = {}): Promise<{ c: Comparison; text: string }> {
  let text = '';
  const c = await compareCommand(base, next, raw, { out: (t) => void (text += t) });
  return { c, text };
}

describe('compare', () => {
  const tmp = tempDir();
  const copy = join(tmp.dir, 'sweep-h200.csv');

  before(() => {
    // A modified copy: another card and driver; esmm at d=0.5 joint 20% slower, at d=0.25 joint
    // 20% faster, cublas-bf16 at b-only d=1 3% slower (inside the threshold); one row dropped.
    const samples = readFileSync(`${SWEEP}.samples.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { mode: string; density: number; kernel: string; samples_ms: number[] });
    const scale = (s: (typeof samples)[number]): number =>
      s.kernel === 'esmm' && s.mode === 'joint' && s.density === 0.5 ? 1.2 : s.kernel === 'esmm' && s.mode === 'joint' && s.density === 0.25 ? 0.8 : s.kernel === 'cublas-bf16' && s.mode === 'b-only' && s.density === 1 ? 1.03 : 1;
    writeFileSync(`${copy}.samples.jsonl`, samples.map((s) => JSON.stringify({ ...s, samples_ms: s.samples_ms.map((x) => x * scale(s)) })).join('\n') + '\n');
    const lines = readFileSync(SWEEP, 'utf8').trimEnd().split('\n');
    const dropped = lines.filter((l) => !(l.includes(',b-only,0.125,') && l.includes(',cublas-tf32,')));
    assert.equal(dropped.length, lines.length - 1);
    writeFileSync(copy, dropped.join('\n') + '\n');
    const record = JSON.parse(readFileSync(`${SWEEP}.json`, 'utf8')) as {
      devices: { name: string }[];
      nvml: { before: Record<string, unknown>[] };
    };
    record.devices[0].name = 'NVIDIA H200';
    record.nvml.before[0].name = 'NVIDIA H200';
    record.nvml.before[0].driver_version = '590.10';
    writeFileSync(`${copy}.json`, JSON.stringify(record));
    copyFileSync(SWEEP, join(tmp.dir, 'same.csv'));
  });
  after(() => tmp.cleanup());

  it('a run compared with itself is SAME on every row, exit 0', async () => {
    const { c, text } = await compare(SWEEP, SWEEP);
    assert.equal(c.kind, 'sweep');
    assert.equal(c.rows.length, 32);
    assert.ok(c.rows.every((r) => r.verdict === 'SAME' && r.deltaRel === 0 && r.timing === 'samples'));
    assert.deepEqual(c.environmentDifferences, []);
    assert.equal(regressions(c), 0);
    assert.match(text, /32 SAME/);
    assert.equal(spawnSync(process.execPath, [CLI, 'compare', SWEEP, SWEEP]).status, 0);
  });

  it('the modified copy: card and driver named, verdicts per row, the dropped row only in the base', async () => {
    const md = join(tmp.dir, 'cmp.md');
    const csv = join(tmp.dir, 'cmp.csv');
    const { c, text } = await compare(SWEEP, copy, { threshold: '5%', md, csv });
    assert.deepEqual(c.environmentDifferences, ['card', 'driver']);
    assert.equal(c.base.environment.card, 'NVIDIA H100 80GB HBM3');
    assert.equal(c.new.environment.card, 'NVIDIA H200');
    assert.deepEqual(c.counts, { FAST: 1, SLOW: 1, SAME: 29, FAILED: 0, 'N/A': 0, ONLY_BASE: 1, ONLY_NEW: 0 });
    const pick = (mode: string, density: string, kernel: string) =>
      c.rows.find((r) => r.point.mode === mode && r.point.density === density && r.point.kernel === kernel)!;
    assert.equal(pick('joint', '0.5', 'esmm').verdict, 'SLOW');
    assert.ok(Math.abs(pick('joint', '0.5', 'esmm').deltaRel! - 0.2) < 1e-9);
    assert.equal(pick('joint', '0.25', 'esmm').verdict, 'FAST');
    assert.equal(pick('b-only', '1', 'cublas-bf16').verdict, 'SAME');
    assert.equal(pick('b-only', '0.125', 'cublas-tf32').verdict, 'ONLY_BASE');
    assert.equal(regressions(c), 1);
    assert.match(text, /the runs differ in: card, driver/);
    const mdText = readFileSync(md, 'utf8');
    assert.match(mdText, /The runs differ in: card, driver\./);
    assert.match(mdText, /\| 4096×4096×4096 joint d=0\.5 \| esmm \|.*\| SLOW \|/);
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 32);
    assert.equal(rows.filter((r) => r.verdict === 'SLOW').length, 1);
    // A 25% threshold lets the 20% changes through as SAME.
    assert.equal(regressions((await compare(SWEEP, copy, { threshold: '0.25' })).c), 0);
    // The CLI guards a change: exit 1 with a SLOW row, JSON on request.
    const r = spawnSync(process.execPath, [CLI, 'compare', SWEEP, copy, '--json']);
    assert.equal(r.status, 1);
    const json = JSON.parse(r.stdout.toString()) as Comparison;
    assert.deepEqual(json.environmentDifferences, ['card', 'driver']);
    assert.equal(json.counts.SLOW, 1);
  });

  it('without a samples file the CSV medians and stdev_rel are used', async () => {
    const { c } = await compare(SWEEP, join(tmp.dir, 'same.csv'));
    assert.ok(c.rows.every((r) => r.verdict === 'SAME' && r.timing === 'csv'));
  });

  it('bad input: a missing file or mixed kinds is a usage error (exit 2)', async () => {
    const missing = spawnSync(process.execPath, [CLI, 'compare', SWEEP, join(tmp.dir, 'nope.csv')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr.toString(), /no such CSV: .*nope\.csv/);
    const real = join(REPO_ROOT, 'docs', 'results', 'real-h100.csv');
    await assert.rejects(compare(SWEEP, real), /a run CSV cannot be compared with the sweep CSV/);
    assert.throws(() => execFileSync(process.execPath, [CLI, 'compare', SWEEP, SWEEP, '--threshold', 'x'], { stdio: 'pipe' }), /status 2|--threshold/);
  });
});
