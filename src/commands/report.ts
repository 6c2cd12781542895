import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { Command } from 'commander';

import { UsageError } from '../errors.js';
import { printable } from '../printable.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { type WrittenReport, writeReport } from '../output/write-report.js';
import { writeBreakEvenReport } from '../output/write-break-even-report.js';

/** `esmm-bench report <csv>`: markdown summary (printed and written) and plots. */
export async function reportCommand(
  csv: string,
  opts: { outDir?: string; plots?: boolean; breakEven?: boolean; decodeM?: string; prefill?: string },
): Promise<WrittenReport> {
  if (!existsSync(csv)) throw new UsageError(`no such CSV: ${csv}`);
  const outDir = opts.outDir ?? join(dirname(csv), `${basename(csv).replace(/\.csv$/i, '')}-report`);
  prepareOutputPath(outDir, { flag: '--out-dir', kind: 'dir' });
  const plots = opts.plots === false ? { plots: false } : {};
  const report = await writeReport({ csv, outDir, ...plots });
  if (!opts.breakEven) return report;
  const positive = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };
  const decodeM = positive('--decode-m', opts.decodeM);
  const prefill = positive('--prefill', opts.prefill);
  const be = await writeBreakEvenReport({ csv, outDir, ...plots, ...(decodeM ? { decodeM } : {}), ...(prefill ? { prefill } : {}) });
  return { markdown: `${report.markdown}\n${be.markdown}`, files: [...report.files, ...be.files] };
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('summarise a result CSV per label group (markdown) and plot speedup vs k density and per layer (SVG, PNG)')
    .argument('<csv>', 'a CSV written by `esmm-bench run`, `hf`, `sweep`, `default` or a merge of them')
    .option('--out-dir <dir>', 'where report.md and the plots go (default: <csv name>-report/ beside the CSV)')
    .option('--no-plots', 'markdown only')
    .option('--break-even', 'also: per layer, the M where ESMM stops beating dense, and a model-level decode/prefill projection (break-even.md, break-even plot)')
    .option('--decode-m <m>', 'with --break-even: M of a decode step (default: the smallest M in the CSV)')
    .option('--prefill <n>', 'with --break-even: tokens of the prefill (default: the largest M in the CSV)')
    .action(async (csv: string, opts: { outDir?: string; plots?: boolean; breakEven?: boolean; decodeM?: string; prefill?: string }) => {
      const report = await reportCommand(csv, opts);
      process.stdout.write(printable(report.markdown, true));
      process.stdout.write(`\nwritten: ${report.files.join(', ')}\n`);
    });
}
