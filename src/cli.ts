#!/usr/bin/env node
import { Command, CommanderError } from 'commander';

import { describeError, errorCode } from './errors.js';
import { registerCommands } from './commands/index.js';
import { printable } from './printable.js';
import { VERSION } from './version.js';

/** The only place that calls process.exit: maps error codes to exit codes (DESIGN.md). */
async function main(argv: string[]): Promise<number> {
  const program = new Command('esmm-bench')
    .description('Benchmark ESMM (joint-sparsity float32 GEMM) against cuBLAS on pruned LLM weights')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  try {
    await registerCommands(program, argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      return 2;
    }
    const code = errorCode(err);
    process.stderr.write(`esmm-bench: ${printable(describeError(err))}\n`);
    return code === 'USAGE' ? 2 : 1;
  }
}

// A closed pipe (`esmm-bench scan … | head`) ends the command quietly, as other CLIs do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then((code) => process.exit(code));
