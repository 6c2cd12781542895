import { type Command, Option } from 'commander';
import { z } from 'zod';

import { UsageError } from '../errors.js';
import { type SweepSummary, parseDensities, parseSizes, runSweep } from '../bench/run-sweep.js';
import { loadNative } from '../native/index.js';
import type { NativeBinding, SyntheticMode } from '../native/types.js';
import { resolveBackend } from '../patterns/resolve-backend.js';

/** Backend defaults: the CPU GEMM is orders of magnitude slower, so its sweep is small. */
export const SWEEP_DEFAULTS = {
  cuda: { sizes: '4096', runs: 20, warmup: 5 },
  cpu: { sizes: '256', runs: 5, warmup: 1 },
} as const;

const SweepOptionsSchema = z.object({
  sizes: z.string().optional(),
  densities: z.string(),
  modes: z.string(),
  kernels: z.string(),
  backend: z.enum(['auto', 'cpu', 'cuda']),
  device: z.coerce.number().int().min(0),
  runs: z.coerce.number().int().min(1).optional(),
  warmup: z.coerce.number().int().min(0).optional(),
  l2: z.enum(['cold', 'hot']),
  seed: z.coerce.number().int().min(0),
  out: z.string().min(1),
});

export async function sweepCommand(raw: Record<string, unknown>, deps: { native?: NativeBinding; log?: (line: string) => void } = {}): Promise<SweepSummary & { backend: 'cpu' | 'cuda' }> {
  const parsed = SweepOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  const o = parsed.data;
  const modes = o.modes.split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'joint' && m !== 'b-only') throw new UsageError(`--modes: '${m}' is not joint or b-only`);
  const native = deps.native ?? loadNative();
  const backend = resolveBackend(native, o.backend);
  const d = SWEEP_DEFAULTS[backend];
  if (backend === 'cpu') deps.log?.('cpu backend: CPU ESMM vs the CPU reference GEMM at small sizes — not GPU numbers');
  const summary = await runSweep(
    {
      sizes: parseSizes(o.sizes ?? d.sizes),
      densities: parseDensities(o.densities),
      modes: modes as SyntheticMode[],
      kernels: o.kernels.split(',').map((k) => k.trim()).filter((k) => k !== ''),
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
  program
    .command('sweep')
    .description('synthetic block-sparsity sweep: ESMM vs the baseline at given sizes, densities and modes')
    .option('--sizes <list>', 'N (N³) or MxKxN, comma-separated (default 4096; 256 on the cpu backend)')
    .option('--densities <list>', 'fraction of pattern bits set', '1,0.5,0.25,0.125')
    .option('--modes <list>', 'joint (A and B tiles at density d) and/or b-only (dense A)', 'joint,b-only')
    .option('--kernels <list>', 'kernels: esmm, cublas, cublas-tf32, cublas-bf16', 'esmm,cublas')
    .addOption(new Option('--backend <b>', 'where to run').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .option('--device <n>', 'CUDA device index', '0')
    .option('--runs <n>', 'timed runs per point (default 20; 5 on cpu)')
    .option('--warmup <n>', 'warm-up runs per point (default 5; 1 on cpu)')
    .addOption(new Option('--l2 <mode>', 'cold: flush L2 before every sample').choices(['cold', 'hot']).default('cold'))
    .option('--seed <n>', 'seed of the synthetic data', '1')
    .option('--out <csv>', 'sweep CSV (rows are appended as a new run; the sidecar goes beside it)', 'out/sweep.csv')
    .action(async (raw: Record<string, unknown>) => {
      // The table is printed line by line as points finish.
      const s = await sweepCommand(raw, { log: (line) => void process.stdout.write(line + '\n') });
      process.stdout.write(`${s.rows.length} rows → ${s.csvPath}; run record: ${s.sidecarPath}\n`);
      if (s.failed > 0) process.exitCode = 1;
    });
}
