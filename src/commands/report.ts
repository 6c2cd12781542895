import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import type { Command } from 'commander';

import { UsageError } from '../errors.js';
import { printable } from '../printable.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { type WrittenReport, writeReport } from '../output/write-report.js';

/** `esmm-bench report <csv>`: markdown summary (printed and written) and plots. */
export async function reportCommand(csv: string, opts: { outDir?: string; plots?: boolean }): Promise<WrittenReport> {
  if (!existsSync(csv)) throw new UsageError(`no such CSV: ${csv}`);
  const outDir = opts.outDir ?? join(dirname(csv), `${basename(csv).replace(/\.csv$/i, '')}-report`);
  prepareOutputPath(outDir, { flag: '--out-dir', kind: 'dir' });
  return writeReport({ csv, outDir, ...(opts.plots === false ? { plots: false } : {}) });
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('summarise a result CSV per label group (markdown) and plot speedup vs block sparsity and per layer (SVG, PNG)')
    .argument('<csv>', 'a CSV written by `esmm-bench run`, `hf`, `sweep`, `default` or a merge of them')
    .option('--out-dir <dir>', 'where report.md and the plots go (default: <csv name>-report/ beside the CSV)')
    .option('--no-plots', 'markdown only')
    .action(async (csv: string, opts: { outDir?: string; plots?: boolean }) => {
      const report = await reportCommand(csv, opts);
      process.stdout.write(printable(report.markdown, true));
      process.stdout.write(`\nwritten: ${report.files.join(', ')}\n`);
    });
}
