import { statSync } from 'node:fs';

import { type Command, Option } from 'commander';
import { z } from 'zod';

import { UsageError } from '../errors.js';
import { runPipeline } from '../bench/run-pipeline.js';
import type { PipelineDeps, PipelineParams, PipelineSummary } from '../bench/types.js';
import { loadNative } from '../native/index.js';
import { parseShard } from '../bench/shard-plan.js';
import { resolveCacheDir } from '../patterns/pattern-cache.js';
import { resolveBackend } from '../patterns/resolve-backend.js';
import { applyArchitecture } from '../hub/apply-architecture.js';
import { loadLabelRules, walkWeights } from '../weights/index.js';

/** Defaults that depend on the backend: CPU GEMMs are ~100× slower, so its points are smaller. */
export const RUN_DEFAULTS = {
  cuda: { ms: [4096], runs: 20, warmup: 5 },
  cpu: { ms: [16], runs: 5, warmup: 1 },
} as const;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The flags `run` and `hf` share (everything that becomes PipelineParams). */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--m <list>', 'token counts (rows of A), comma-separated (default 4096; 16 on the cpu backend)')
    .option('--kernels <list>', 'kernels: esmm, cublas, cublas-tf32, cublas-bf16 (on cpu cublas runs the CPU reference)', 'esmm,cublas')
    .addOption(new Option('--orientation <o>', 'linear: B = Wᵀ (K = in features); raw: B = W as stored').choices(['linear', 'raw']).default('linear'))
    .addOption(new Option('--backend <b>', 'where to run').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .option('--device <n>', 'CUDA device index', '0')
    .option('--devices <list>', 'several CUDA devices at once: indices (0,1) or all; one worker each, tensors handed out largest first')
    .option('--runs <n>', 'timed runs per point (default 20; 5 on cpu)')
    .option('--warmup <n>', 'warm-up runs per point (default 5; 1 on cpu)')
    .addOption(new Option('--l2 <mode>', 'flush L2 before every sample (cold, as ncu does) or not (hot)').choices(['cold', 'hot']).default('cold'))
    .option('--seed <n>', 'seed of the dense random A', '1')
    .option('--filter <re>', 'keep tensors whose name, file or a key=value label matches (repeatable: all must match)', collect)
    .option('--exclude <re>', 'drop tensors whose name, file or a key=value label matches (repeatable)', collect)
    .option('--out <csv>', 'result CSV; the JSON sidecar and samples file go beside it', 'out/results.csv')
    .option('--resume', 'continue an earlier run of the same --out: skip the points it holds', false)
    .option('--overwrite', 'replace an existing --out (and its sidecars) instead of refusing', false)
    .option('--cache-dir <dir>', 'pattern cache folder (default .esmm-cache/ next to the weights, or $ESMM_CACHE_DIR)')
    .option('--shard <i/n>', 'run only shard i (0-based) of n: a stable partition of the points, balanced by cost (merge the parts with `merge`)')
    .option('--no-progress', 'no progress output');
}

const intList = (flag: string) =>
  z.string().transform((s, ctx) => {
    const values = s.split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number);
    if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
      ctx.addIssue({ code: 'custom', message: `${flag} takes positive integers separated by commas, got '${s}'` });
      return z.NEVER;
    }
    return values;
  });

const intFlag = (flag: string, min: number) =>
  z.string().transform((s, ctx) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < min) {
      ctx.addIssue({ code: 'custom', message: `${flag} must be an integer ≥ ${min}, got '${s}'` });
      return z.NEVER;
    }
    return v;
  });

const RunOptionsSchema = z.object({
  m: intList('--m').optional(),
  kernels: z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== '')),
  orientation: z.enum(['linear', 'raw']),
  backend: z.enum(['auto', 'cpu', 'cuda']),
  device: intFlag('--device', 0),
  runs: intFlag('--runs', 1).optional(),
  warmup: intFlag('--warmup', 0).optional(),
  l2: z.enum(['cold', 'hot']),
  seed: z.string().transform((s, ctx) => {
    const v = Number(s);
    if (!Number.isSafeInteger(v) || v < 0) {
      ctx.addIssue({ code: 'custom', message: `--seed must be a non-negative integer, got '${s}'` });
      return z.NEVER;
    }
    return v;
  }),
  filter: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
  out: z.string().min(1),
  resume: z.boolean(),
  overwrite: z.boolean(),
  cacheDir: z.string().optional(),
  shard: z.string().optional(),
  devices: z
    .string()
    .transform((s, ctx) => {
      if (s.trim() === 'all') return 'all' as const;
      const values = s.split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number);
      if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 0)) {
        ctx.addIssue({ code: 'custom', message: `--devices takes device indices separated by commas, or all; got '${s}'` });
        return z.NEVER;
      }
      return values;
    })
    .optional(),
  progress: z.boolean(),
});

/** Parsed run flags; tensors and cache folder are filled in by the caller. */
export type RunOptions = z.output<typeof RunOptionsSchema>;

export function parseRunOptions(raw: unknown): RunOptions {
  const parsed = RunOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  if (parsed.data.resume && parsed.data.overwrite) throw new UsageError('--resume and --overwrite exclude each other');
  if (parsed.data.shard !== undefined) parseShard(parsed.data.shard);
  return parsed.data;
}

/** PipelineParams from parsed flags, with the backend's defaults for what was not given. */
export function pipelineParamsFromOptions(
  opts: RunOptions,
  backend: 'cpu' | 'cuda',
  rest: Pick<PipelineParams, 'tensors' | 'argv'> & Partial<PipelineParams>,
): PipelineParams {
  const d = RUN_DEFAULTS[backend];
  return {
    orientation: opts.orientation,
    ms: opts.m ?? [...d.ms],
    kernels: opts.kernels,
    backend,
    device: opts.device,
    runs: opts.runs ?? d.runs,
    warmup: opts.warmup ?? d.warmup,
    l2: opts.l2,
    seed: opts.seed,
    out: opts.out,
    resume: opts.resume,
    overwrite: opts.overwrite,
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.filter ? { filter: opts.filter } : {}),
    ...(opts.exclude ? { exclude: opts.exclude } : {}),
    ...(opts.shard !== undefined ? { shard: parseShard(opts.shard) } : {}),
    ...(opts.devices !== undefined ? { devices: opts.devices } : {}),
    progress: opts.progress,
    ...rest,
  };
}

export function printSummary(s: PipelineSummary, write: (line: string) => void): void {
  write(
    `${s.rows} rows written (${s.ok} ok, ${s.failed} failed, ${s.skipped} skipped${s.resumed ? `; ${s.resumed} already in the file` : ''}) ` +
      `on ${s.backend ?? '?'} in ${(s.wallMs / 1000).toFixed(1)} s → ${s.csvPath}`,
  );
  write(`run record: ${s.sidecarPath}`);
  if (s.backend === 'cpu') write('note: cpu backend — these are CPU timings (reference GEMM vs CPU ESMM), not GPU numbers');
}

/** `esmm-bench run <path>`: the weight-tree benchmark. Returns the summary; exit code 1 when a row is not ok. */
export async function runCommand(path: string, raw: Record<string, unknown>, deps: PipelineDeps = {}): Promise<PipelineSummary> {
  const opts = parseRunOptions(raw);
  let rootIsFile: boolean;
  try {
    rootIsFile = statSync(path).isFile();
  } catch {
    throw new UsageError(`no such file or folder: ${path}`);
  }
  const labelRules = typeof raw.labels === 'string' ? await loadLabelRules(raw.labels) : undefined;
  const walk = await walkWeights({ root: path, ...(labelRules ? { labelRules } : {}) });
  let aTensors;
  if (typeof raw.aDir === 'string') {
    const aWalk = await walkWeights({ root: raw.aDir, ...(labelRules ? { labelRules } : {}) });
    aTensors = aWalk.tensors;
  }
  const native = deps.native ?? loadNative();
  const backend = resolveBackend(native, opts.backend);
  const params = pipelineParamsFromOptions(opts, backend, {
    tensors: rootIsFile ? walk.tensors : applyArchitecture(path, walk.tensors).tensors,
    skipped: walk.skipped,
    argv: process.argv,
    cacheDir: resolveCacheDir({ ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}), root: path, rootIsFile }),
    ...(aTensors ? { aTensors } : {}),
  });
  return runPipeline(params, { ...deps, native });
}

export function registerRun(program: Command): void {
  addRunOptions(
    program
      .command('run')
      .description('benchmark every 2-D tensor of a weight tree (or file) × M × kernel into a CSV')
      .argument('<path>', 'weight folder or file (.safetensors, .safetensors.index.json, .pt, .bin)'),
  )
    .option('--labels <rules.json>', 'extra path-label rules')
    .option('--a-dir <dir>', 'pair each B with a real A tensor from this tree (A is M×K as stored; M = its rows)')
    .action(async (path: string, raw: Record<string, unknown>) => {
      const summary = await runCommand(path, raw);
      printSummary(summary, (line) => void process.stdout.write(line + '\n'));
      if (summary.failed + summary.skipped > 0) process.exitCode = 1;
    });
}
