import type { Command } from 'commander';

import { registerCache } from './cache.js';
import { registerDefault } from './default.js';
import { registerHf } from './hf.js';
import { registerMerge } from './merge.js';
import { registerSlurm } from './slurm.js';
import { registerDoctor } from './doctor.js';
import { registerReport } from './report.js';
import { registerRun } from './run.js';
import { registerScan } from './scan.js';
import { registerSweep } from './sweep.js';

/** Every command registers itself here; one file per command beside this one. */
export function registerCommands(program: Command): void {
  registerScan(program);
  registerRun(program);
  registerHf(program);
  registerCache(program);
  registerSweep(program);
  registerMerge(program);
  registerSlurm(program);
  registerReport(program);
  registerDefault(program);
  registerDoctor(program);
}
