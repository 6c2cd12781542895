import type { Command } from 'commander';

import { registerCache } from './cache.js';
import { registerCapture } from './capture.js';
import { registerCompare } from './compare.js';
import { registerDefault } from './default.js';
import { registerHf } from './hf.js';
import { registerDoctor } from './doctor.js';
import { registerReport } from './report.js';
import { registerReproduce } from './reproduce.js';
import { registerRun } from './run.js';
import { registerScan } from './scan.js';
import { registerSparsify } from './sparsify.js';
import { registerSweep } from './sweep.js';

/** Every command registers itself here; one file per command beside this one. */
export function registerCommands(program: Command): void {
  registerScan(program);
  registerRun(program);
  registerHf(program);
  registerCache(program);
  registerCapture(program);
  registerSparsify(program);
  registerSweep(program);
  registerReport(program);
  registerDefault(program);
  registerDoctor(program);
  registerCompare(program);
  registerReproduce(program);
}
