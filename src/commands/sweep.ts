import type { Command } from 'commander';
import { z } from 'zod';

import { UsageError } from '../errors.js';
import { type SweepSummary, parseDensities, parseSizes, runSweep } from '../bench/run-sweep.js';
import { loadNative } from '../native/index.js';
import type { NativeBinding, SyntheticMode } from '../native/types.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { resolveBackend } from '../patterns/resolve-backend.js';
import { TimingOptionsSchema, addTimingOptions, parseOptions } from './common-options.js';

/** Backend defaults: the CPU GEMM is orders of magnitude slower, so its sweep is small. */
export const SWEEP_DEFAULTS = {
  cuda: { sizes: '4096', runs: 20, warmup: 5 },
  cpu: { sizes: '256', runs: 5, warmup: 1 },
} as const;

const SweepOptionsSchema = TimingOptionsSchema.extend({
  sizes: z.string().optional(),
  densities: z.string(),
  modes: z.string(),
});

export async function sweepCommand(raw: Record<string, unknown>, deps: { native?: NativeBinding; log?: (line: string) => void } = {}): Promise<SweepSummary & { backend: 'cpu' | 'cuda' }> {
  const o = parseOptions(SweepOptionsSchema, raw);
  const modes = o.modes.split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'joint' && m !== 'b-only') throw new UsageError(`--modes: '${m}' is not joint or b-only`);
  prepareOutputPath(o.out, { flag: '--out', kind: 'file' });
  const native = deps.native ?? loadNative();
  const backend = resolveBackend(native, o.backend);
  const d = SWEEP_DEFAULTS[backend];
  if (backend === 'cpu') deps.log?.('cpu backend: CPU ESMM vs the CPU reference GEMM at small sizes — not GPU numbers');
  const summary = await runSweep(
    {
      sizes: parseSizes(o.sizes ?? d.sizes),
      densities: parseDensities(o.densities),
      modes: modes as SyntheticMode[],
      kernels: o.kernels,
      backend,
      device: o.device,
      runs: o.runs ?? d.runs,
      warmup: o.warmup ?? d.warmup,
      l2: o.l2,
      seed: o.seed,
      out: o.out,
      argv: process.argv,
    },
    { native, ...(deps.log ? { log: deps.log } : {}) },
  );
  return { ...summary, backend };
}

export function registerSweep(program: Command): void {
  addTimingOptions(
    program
      .command('sweep')
      .description('synthetic block-sparsity sweep: ESMM vs the baseline at given sizes, densities and modes')
      .option('--sizes <list>', 'N (N³) or MxKxN, comma-separated (default 4096; 256 on the cpu backend)')
      .option('--densities <list>', 'fraction of pattern bits set', '1,0.5,0.25,0.125')
      .option('--modes <list>', 'joint (A and B tiles at density d) and/or b-only (dense A)', 'joint,b-only'),
    {
      out: 'out/sweep.csv',
      outHelp: 'sweep CSV (rows are appended as a new run; the sidecar goes beside it)',
      seedHelp: 'seed of the synthetic data',
    },
  ).action(async (raw: Record<string, unknown>) => {
    // The table is printed line by line as points finish.
    const s = await sweepCommand(raw, { log: (line) => void process.stdout.write(line + '\n') });
    process.stdout.write(`${s.rows.length} rows → ${s.csvPath}; run record: ${s.sidecarPath}\n`);
    if (s.failed > 0) process.exitCode = 1;
  });
}
