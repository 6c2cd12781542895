import { type Command, Option } from 'commander';
import { z } from 'zod';

import { defaultKernels, knownKernels } from '../bench/kernel-roles.js';
import { UsageError } from '../errors.js';
import { kernelRegistry } from '../native/kernel-registry.js';

/**
 * The flags the benchmarking commands (`run`, `hf`, `sweep`, `default`) have in common,
 * defined once and validated once. Each command adds its own flags beside them.
 */

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--backend`: every command that runs something. */
export function addBackendOption(cmd: Command, what = 'where to run'): Command {
  return cmd.addOption(new Option('--backend <b>', what).choices(['auto', 'cpu', 'cuda']).default('auto'));
}

/** Timing flags: the same for a weight tree and a synthetic sweep; the kernel ids come from the addon's registry. */
export function addTimingOptions(cmd: Command, defaults: { out: string; outHelp: string; seedHelp: string }): Command {
  addBackendOption(cmd);
  const registry = kernelRegistry();
  return cmd
    .option(
      '--kernels <list>',
      `kernels: ${knownKernels(registry).join(', ')} (on cpu both dense baselines run the CPU reference)`,
      defaultKernels(registry).join(','),
    )
    .option('--device <n>', 'CUDA device index', '0')
    .option('--runs <n>', 'least timed samples per kernel; more until the relative stdev is ≤ 1 % (2 % on cpu) or a 1 s (cpu 0.4 s) cap (default 20; 5 on cpu)')
    .option('--warmup <n>', 'warm-up runs per point (default 5; 1 on cpu)')
    .addOption(new Option('--l2 <mode>', 'flush L2 before every sample (cold, as ncu does) or not (hot)').choices(['cold', 'hot']).default('cold'))
    .option('--seed <n>', defaults.seedHelp, '1')
    .option('--out <csv>', defaults.outHelp, defaults.out);
}

/** The flags of a weight-tree benchmark: `run` and `hf` take exactly these. */
export function addTreeOptions(cmd: Command): Command {
  addTimingOptions(cmd, {
    out: 'out/results.csv',
    outHelp: 'result CSV; the JSON sidecar and samples file go beside it',
    seedHelp: 'seed of the dense random A',
  });
  return cmd
    .option('--m <list>', 'token counts (rows of A), comma-separated (default 4096; 16 on the cpu backend)')
    .addOption(new Option('--orientation <o>', 'linear: B = Wᵀ (K = in features); raw: B = W as stored').choices(['linear', 'raw']).default('linear'))
    .option('--filter <re>', 'keep tensors whose name, file or a key=value label matches (repeatable: all must match)', collect)
    .option('--exclude <re>', 'drop tensors whose name, file or a key=value label matches (repeatable)', collect)
    .option('--resume', 'continue an earlier run of the same --out with the same settings: skip the points it holds', false)
    .option('--overwrite', 'replace an existing --out (and its sidecars) instead of refusing', false)
    .option('--cache-dir <dir>', 'pattern cache folder (default .esmm-cache/ next to the weights, or $ESMM_CACHE_DIR; ~/.cache/esmm-bench when the weights are read-only)')
    .option('--labels <rules.json>', 'extra path-label rules')
    .option('--a-dir <dir>', 'pair each B with a real A tensor from this tree (A is M×K as stored; M = its rows)')
    .option('--all-tensors', 'also benchmark optimizer state found in a training checkpoint', false)
    .option('--devices <list>', 'several CUDA devices at once: indices (0,1) or all; one worker each, tensors handed out largest first')
    .option('--shard <i/n>', 'run only shard i (0-based) of n: a stable partition of the points, balanced by cost (merge the parts with `merge`)')
    .option('--no-progress', 'no progress output');
}

/** A comma-separated list of positive integers; an empty element (`1,,2`) is refused. */
export const intList = (flag: string) =>
  z.string().transform((s, ctx) => {
    const parts = s.split(',').map((x) => x.trim());
    const values = parts.map((x) => (/^\d+$/.test(x) ? Number(x) : NaN));
    if (values.some((v) => !Number.isSafeInteger(v) || v < 1)) {
      ctx.addIssue({ code: 'custom', message: `${flag} takes positive integers separated by commas, got '${s}'` });
      return z.NEVER;
    }
    return values;
  });

/** A whole number ≥ min (and ≤ max), written in decimal digits. */
export const intFlag = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.string().transform((s, ctx) => {
    const v = /^\s*\d+\s*$/.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
      ctx.addIssue({ code: 'custom', message: `${flag} must be a whole number ${range}, got '${s}'` });
      return z.NEVER;
    }
    return v;
  });

const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''));

export const BackendSchema = z.enum(['auto', 'cpu', 'cuda']);

/** What addTimingOptions defines. */
export const TimingOptionsSchema = z.object({
  kernels: list,
  backend: BackendSchema,
  device: intFlag('--device', 0),
  runs: intFlag('--runs', 1).optional(),
  warmup: intFlag('--warmup', 0).optional(),
  l2: z.enum(['cold', 'hot']),
  seed: intFlag('--seed', 0),
  out: z.string().min(1),
});

/** What addTreeOptions defines. */
export const TreeOptionsSchema = TimingOptionsSchema.extend({
  m: intList('--m').optional(),
  orientation: z.enum(['linear', 'raw']),
  filter: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
  resume: z.boolean(),
  overwrite: z.boolean(),
  cacheDir: z.string().min(1).optional(),
  labels: z.string().min(1).optional(),
  aDir: z.string().min(1).optional(),
  allTensors: z.boolean().default(false),
  devices: z
    .string()
    .transform((s, ctx) => {
      if (s.trim() === 'all') return 'all' as const;
      const parts = s.split(',').map((x) => x.trim());
      const values = parts.map((x) => (/^\d+$/.test(x) ? Number(x) : NaN));
      if (values.some((v) => !Number.isSafeInteger(v))) {
        ctx.addIssue({ code: 'custom', message: `--devices takes device indices separated by commas, or all; got '${s}'` });
        return z.NEVER;
      }
      return values;
    })
    .optional(),
  shard: z.string().optional(),
  progress: z.boolean(),
});

/** Validates parsed flags against a schema; every problem in one line, as a usage error. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new UsageError(
    parsed.error.issues
      .map((i) => (i.code === 'custom' || i.path.length === 0 ? i.message : `--${i.path.map(String).map(kebab).join('.')}: ${i.message}`))
      .join('; '),
  );
}

function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
