import { writeFile } from 'node:fs/promises';

import type { Command } from 'commander';
import { z } from 'zod';

import { UsageError } from '../errors.js';
import { type Comparison, compareResults } from '../output/compare-results.js';
import { comparisonCsv, comparisonMarkdown, formatComparisonTable } from '../output/format-comparison.js';
import { DEFAULT_COMPARE_THRESHOLD } from '../output/noise-verdict.js';

/** A fraction (0.05) or a percentage (5%). */
export function parseThreshold(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(s);
  if (!m) throw new UsageError(`--threshold takes a fraction (0.05) or a percentage (5%), got '${s}'`);
  return m[2] ? Number(m[1]) / 100 : Number(m[1]);
}

const CompareOptionsSchema = z.object({
  threshold: z.string().optional(),
  json: z.boolean().optional(),
  csv: z.string().min(1).optional(),
  md: z.string().min(1).optional(),
});

export interface CompareIo {
  out: (text: string) => void;
}

/** Rows that fail the guard: slower beyond the threshold, or failing where the base ran. */
export function regressions(c: Comparison): number {
  return c.counts.SLOW + c.counts.FAILED;
}

/** Writes the comparison where the options ask; returns it (exit code 1 when regressions(c) > 0). */
export async function emitComparison(c: Comparison, raw: Record<string, unknown>, io: CompareIo): Promise<void> {
  const opts = CompareOptionsSchema.parse(raw);
  if (opts.csv) await writeFile(opts.csv, comparisonCsv(c));
  if (opts.md) await writeFile(opts.md, comparisonMarkdown(c));
  io.out(opts.json ? JSON.stringify(c, null, 2) + '\n' : formatComparisonTable(c));
}

/** `esmm-bench compare BASE.csv NEW.csv`. */
export async function compareCommand(base: string, next: string, raw: Record<string, unknown>, io: CompareIo): Promise<Comparison> {
  const parsed = CompareOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  const threshold = parsed.data.threshold !== undefined ? parseThreshold(parsed.data.threshold) : DEFAULT_COMPARE_THRESHOLD;
  const c = compareResults({ base, new: next, threshold });
  await emitComparison(c, raw, io);
  return c;
}

/** The flags `compare` and `reproduce` share. */
export function addCompareOptions(cmd: Command): Command {
  return cmd
    .option('--threshold <x>', 'smallest change of the median that counts, as a fraction or percentage (a difference must also exceed both runs’ noise)', '5%')
    .option('--json', 'print one JSON document instead of the table')
    .option('--csv <file>', 'also write one row per point as CSV')
    .option('--md <file>', 'also write a markdown summary');
}

export function registerCompare(program: Command): void {
  addCompareOptions(
    program
      .command('compare')
      .description('compare two result (or sweep) CSVs point by point: FAST, SLOW or SAME beyond both runs’ noise; exit 1 when a point is SLOW')
      .argument('<base>', 'the reference CSV (its samples file and run record beside it)')
      .argument('<new>', 'the CSV to judge against it'),
  ).action(async (base: string, next: string, raw: Record<string, unknown>) => {
    const c = await compareCommand(base, next, raw, { out: (t) => void process.stdout.write(t) });
    if (regressions(c) > 0) process.exitCode = 1;
  });
}
