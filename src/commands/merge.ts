import type { Command } from 'commander';

import { mergeResults } from '../output/merge-results.js';

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('merge result CSVs of one study (e.g. the shards of a run) into one CSV, samples file and run record')
    .argument('<csv...>', 'result CSVs written by run/hf (each with its run record beside it)')
    .requiredOption('--out <csv>', 'merged CSV; its run record and samples file go beside it')
    .option('--allow-mixed', 'merge parts whose settings or cards differ', false)
    .option('--overwrite', 'replace an existing --out', false)
    .action(async (csvs: string[], raw: { out: string; allowMixed: boolean; overwrite: boolean }) => {
      const s = await mergeResults({ parts: csvs, out: raw.out, allowMixed: raw.allowMixed, overwrite: raw.overwrite, argv: process.argv });
      process.stdout.write(
        `${s.rows} rows (${s.ok} ok, ${s.failed} failed, ${s.skipped} skipped; ${s.duplicates} duplicates dropped) from ${csvs.length} parts → ${s.csvPath}\n` +
          `run record: ${s.sidecarPath}\n`,
      );
      if (s.failed + s.skipped > 0) process.exitCode = 1;
    });
}
