import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import { type Command, Option } from 'commander';
import type { z } from 'zod';

import { UsageError } from '../errors.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { printable } from '../printable.js';
import { runPipeline } from '../bench/run-pipeline.js';
import type { PipelineDeps, PipelineParams, PipelineSummary } from '../bench/types.js';
import { loadNative } from '../native/index.js';
import { parseShard } from '../bench/shard-plan.js';
import { resolveCacheDir } from '../patterns/pattern-cache.js';
import { resolveBackend } from '../patterns/resolve-backend.js';
import { applyArchitecture } from '../hub/apply-architecture.js';
import { loadLabelRules, walkWeights } from '../weights/index.js';
import { readActivationDumpIndex } from '../activations/read-activation-dump-index.js';
import { pairActivations } from '../bench/pair-activations.js';
import { TreeOptionsSchema, addTreeOptions, parseOptions } from './common-options.js';

/** Defaults that depend on the backend: CPU GEMMs are ~100× slower, so its points are smaller. */
export const RUN_DEFAULTS = {
  cuda: { ms: [4096], runs: 20, warmup: 5 },
  cpu: { ms: [16], runs: 5, warmup: 1 },
} as const;

/** The flags `run` and `hf` share (everything that becomes PipelineParams): one definition in common-options. */
export const addRunOptions = addTreeOptions;

/** Parsed run flags; tensors and cache folder are filled in by the caller. */
export type RunOptions = z.output<typeof TreeOptionsSchema>;

export function parseRunOptions(raw: unknown): RunOptions {
  const opts = parseOptions(TreeOptionsSchema, raw);
  if (opts.resume && opts.overwrite) throw new UsageError('--resume and --overwrite exclude each other');
  if (opts.shard !== undefined) parseShard(opts.shard);
  return opts;
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
  const notMatrix = s.notMatrix ?? 0;
  write(
    `${s.rows} rows written (${s.ok} ok, ${s.failed} failed, ${s.skipped - notMatrix} skipped` +
      `${notMatrix ? `, ${notMatrix} not a matrix` : ''}${s.resumed ? `; ${s.resumed} already in the file` : ''}) ` +
      `on ${s.backend ?? '?'} in ${(s.wallMs / 1000).toFixed(1)} s → ${s.csvPath}`,
  );
  write(`run record: ${s.sidecarPath}`);
  if (s.backend === 'cpu') write('note: cpu backend — these are CPU timings (reference GEMM vs CPU ESMM), not GPU numbers');
  if (s.found === 0) write('nothing to benchmark: no 2-D float tensor was found');
  else if (s.selected === 0) write(`nothing to benchmark: --filter / --exclude kept none of the ${s.found} tensors found`);
}

/**
 * 0 when every matrix was benchmarked; 1 when a row failed or was skipped for a reason other
 * than "not a matrix", or when nothing was there to benchmark.
 */
export function runExitCode(s: PipelineSummary): number {
  if (s.found === 0 || s.selected === 0) return 1;
  return s.failed + s.skipped - (s.notMatrix ?? 0) > 0 ? 1 : 0;
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
  prepareOutputPath(opts.out, { flag: '--out', kind: 'file' });
  if (opts.cacheDir !== undefined) prepareOutputPath(opts.cacheDir, { flag: '--cache-dir', kind: 'dir' });
  const labelRules = opts.labels !== undefined ? await loadLabelRules(opts.labels) : undefined;
  const walkOpts = { ...(labelRules ? { labelRules } : {}), ...(opts.allTensors ? { allTensors: true } : {}) };
  const walk = await walkWeights({ root: path, ...walkOpts });
  const log = deps.log ?? ((line: string) => void process.stderr.write(printable(line) + '\n'));
  for (const note of walk.notes ?? []) log(`note: ${note}`);
  let aTensors;
  if (opts.aDir !== undefined) {
    const aWalk = await walkWeights({ root: opts.aDir, ...walkOpts });
    aTensors = aWalk.tensors;
  }
  const tensors = rootIsFile ? walk.tensors : applyArchitecture(path, walk.tensors).tensors;
  if (raw.control !== undefined && typeof raw.activations !== 'string') throw new UsageError('--control needs --activations');
  if (typeof raw.activations === 'string' && typeof raw.aDir === 'string') throw new UsageError('--activations and --a-dir exclude each other');
  const pairing =
    typeof raw.activations === 'string'
      ? await pairActivations({
          tensors,
          dump: await readActivationDumpIndex(raw.activations),
          ...(opts.m ? { ms: opts.m } : {}),
          orientation: opts.orientation,
          seed: opts.seed,
          control: raw.control === 'random',
          ...(deps.readTensor ? { readTensor: deps.readTensor } : {}),
        })
      : undefined;
  const native = deps.native ?? loadNative();
  const backend = resolveBackend(native, opts.backend);
  const params = pipelineParamsFromOptions(opts, backend, {
    tensors,
    skipped: [...walk.skipped, ...(pairing?.skipped ?? [])],
    ...(pairing ? { pairs: pairing.pairs } : {}),
    argv: process.argv,
    cacheDir: resolveCacheDir({
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
      root: path,
      rootIsFile,
      onFallback: log,
    }),
    labelRules: opts.labels !== undefined ? sha256Text(readFileSync(opts.labels)) : null,
    ...(aTensors ? { aTensors } : {}),
  });
  return runPipeline(params, { ...deps, native, ...(pairing ? { readTensor: pairing.readTensor } : {}) });
}

function sha256Text(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The flags only `run` has beside the shared ones (also checked by `slurm`, which passes them on). */
export function addRunCommandOptions(cmd: Command): Command {
  return cmd
    .option('--activations <dump>', 'pair each weight with the captured input of its module (capture/sparsify dump): weight-only, joint and activation-only rows; --m repeats the token rows')
    .addOption(new Option('--control <kind>', 'with --activations: also rows with a random mask of the same density per tile for every real B and A').choices(['random']));
}

export function registerRun(program: Command): void {
  addRunCommandOptions(
    addRunOptions(
      program
        .command('run')
        .description('benchmark every 2-D tensor of a weight tree (or file) × M × kernel into a CSV')
        .argument('<path>', 'weight folder or file (.safetensors, .safetensors.index.json, .pt, .pth, .pth.tar, .bin, .ckpt)'),
    ),
  )
    .action(async (path: string, raw: Record<string, unknown>) => {
      const summary = await runCommand(path, raw);
      printSummary(summary, (line) => void process.stdout.write(line + '\n'));
      process.exitCode = runExitCode(summary);
    });
}
