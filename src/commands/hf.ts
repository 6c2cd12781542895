import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, relative, resolve } from 'node:path';

import { getHFHubCachePath } from '@huggingface/hub';
import type { Command } from 'commander';
import { z } from 'zod';

import { compileRegexes, selectTensor } from '../bench/plan.js';
import { runPipeline } from '../bench/run-pipeline.js';
import type { PipelineDeps, PipelineSummary } from '../bench/types.js';
import { UsageError } from '../errors.js';
import { printable } from '../printable.js';
import {
  createDownloadProgress,
  DEFAULT_REVISION,
  fetchPlanFiles,
  findManifest,
  formatPlan,
  parseRepoSpec,
  planFromDir,
  planFromHub,
  planToTensorRefs,
  readManifestFile,
  repoCacheFolder,
  resolveCachedSnapshot,
  type HubAccess,
  type ModelPlan,
  type TensorSelector,
} from '../hub/index.js';
import { loadNative } from '../native/index.js';
import { resolveCacheDir } from '../patterns/pattern-cache.js';
import { resolveBackend } from '../patterns/resolve-backend.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { loadLabelRules, parseLabels, walkWeights, type LabelRule } from '../weights/index.js';
import { addRunOptions, parseRunOptions, pipelineParamsFromOptions, printSummary, runExitCode } from './run.js';

const HfOptionsSchema = z.object({
  offline: z.boolean().default(false),
  local: z.string().min(1).optional(),
  dryRun: z.boolean().default(false),
  json: z.boolean().default(false),
  manifest: z.string().min(1).optional(),
  hubUrl: z.url().optional(),
  hfCache: z.string().min(1).optional(),
  verify: z.boolean().default(false),
});

/** What `hf` may have replaced (tests: the pipeline, the native binding, the hub's fetch, output, env). */
export interface HfDeps extends PipelineDeps {
  runPipeline?: typeof runPipeline;
  fetch?: typeof fetch;
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
}

export interface HfResult {
  plan: ModelPlan;
  summary?: PipelineSummary;
}

/** The labels the user's --labels rules give a file of the checkpoint (the built-in path rules are the plan's). */
function userLabels(root: string, file: string, rules: LabelRule[]): Record<string, string> {
  const path = relative(root, file);
  const builtIn = parseLabels(path, []);
  return Object.fromEntries(Object.entries(parseLabels(path, rules)).filter(([k, v]) => builtIn[k] !== v));
}

/** huggingface_hub's reading of a boolean env var. */
function envTrue(v: string | undefined): boolean {
  return v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.toUpperCase());
}

/**
 * `esmm-bench hf <org/name>[@revision]`: plan from the hub's headers, print the plan, fetch the
 * shards that hold linear layers into the HF cache, then run the pipeline on those layers.
 * `--offline` (or HF_HUB_OFFLINE=1) plans from the cache only; `--local DIR` from a folder.
 */
export async function hfCommand(model: string | undefined, raw: Record<string, unknown>, deps: HfDeps = {}): Promise<HfResult> {
  const env = deps.env ?? process.env;
  const out = deps.stdout ?? ((text: string) => void process.stdout.write(printable(text, true)));
  const parsed = HfOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  const hf = parsed.data;
  const opts = parseRunOptions(raw);
  prepareOutputPath(opts.out, { flag: '--out', kind: 'file' });
  if (opts.cacheDir !== undefined) prepareOutputPath(opts.cacheDir, { flag: '--cache-dir', kind: 'dir' });
  if (model === undefined && hf.local === undefined) throw new UsageError('hf: name a model (<org>/<name>[@revision]) or a folder with --local');
  if (hf.local !== undefined && hf.offline) throw new UsageError('hf: --local and --offline exclude each other');

  const spec = model === undefined ? undefined : parseRepoSpec(model);
  const manifest = hf.manifest !== undefined ? readManifestFile(hf.manifest) : spec ? findManifest(spec.repo) : undefined;
  if (manifest && spec && manifest.manifest.repo.toLowerCase() !== spec.repo.toLowerCase()) {
    throw new UsageError(`hf: manifest ${manifest.file} is for ${manifest.manifest.repo}, not ${spec.repo}`);
  }
  const revision = spec?.revision ?? manifest?.manifest.revision ?? DEFAULT_REVISION;
  const cacheDir = resolve(hf.hfCache ?? getHFHubCachePath());
  const offline = hf.offline || envTrue(env['HF_HUB_OFFLINE']);
  const token = env['HF_TOKEN'];
  if (token !== undefined && token !== '' && !token.startsWith('hf_')) throw new UsageError('HF_TOKEN must start with hf_');
  const hubUrl = hf.hubUrl ?? env['HF_ENDPOINT'];
  const hub: HubAccess = {
    ...(hubUrl && { hubUrl: hubUrl.replace(/\/+$/, '') }),
    ...(token && { accessToken: token }),
    ...(deps.fetch && { fetch: deps.fetch }),
  };

  // The run's --filter / --exclude, applied while planning so unwanted shards are never fetched.
  const filters = compileRegexes(opts.filter, '--filter');
  const excludes = compileRegexes(opts.exclude, '--exclude');
  const select: TensorSelector | undefined =
    filters.length + excludes.length === 0
      ? undefined
      : (t) => selectTensor({ name: t.name, file: t.file, labels: t.labels, shape: [], dtype: '', format: 'safetensors' }, filters, excludes);
  const narrow = { ...(manifest && { manifest }), ...(select && { select }) };

  let plan: ModelPlan;
  if (hf.local !== undefined) {
    const dir = resolve(hf.local);
    plan = await planFromDir({ dir, repo: spec?.repo ?? basename(dir), revision: spec?.revision ?? 'local', source: 'local', ...narrow });
  } else if (offline) {
    const cached = await resolveCachedSnapshot({ cacheDir, repo: spec!.repo, revision });
    plan = await planFromDir({ dir: cached.dir, repo: spec!.repo, revision, commit: cached.commit, source: 'cache', ...narrow });
  } else {
    plan = await planFromHub({ repo: spec!.repo, revision, cacheDir, hub, ...narrow });
  }
  out(hf.json ? JSON.stringify(plan, null, 2) + '\n' : formatPlan(plan));
  if (hf.dryRun) return { plan };
  if (plan.tensors.length === 0) throw new UsageError(`hf: nothing to benchmark in ${plan.repo} (${plan.warnings.join('; ')})`);

  if (plan.source === 'hub') {
    const progress = opts.progress && plan.downloadBytes > 0 ? createDownloadProgress({ totalBytes: plan.downloadBytes }) : undefined;
    const snapshot = await fetchPlanFiles({ plan, cacheDir, hub, verifyCached: hf.verify, ...(progress && { progress }) });
    plan = await planFromDir({ dir: snapshot, repo: plan.repo, revision, commit: plan.commit!, source: 'cache', ...narrow });
  }

  const refs = planToTensorRefs(plan);
  const labelRules = opts.labels !== undefined ? await loadLabelRules(opts.labels) : undefined;
  const tensors = labelRules ? refs.tensors.map((t) => ({ ...t, labels: { ...t.labels, ...userLabels(plan.root!, t.file, labelRules) } })) : refs.tensors;
  const skipped = refs.skipped;
  const aTensors = opts.aDir !== undefined ? (await walkWeights({ root: opts.aDir, ...(labelRules ? { labelRules } : {}) })).tensors : undefined;
  const native = deps.native ?? loadNative();
  const backend = resolveBackend(native, opts.backend);
  // Patterns of a cached checkpoint live in its repo folder, so deleting the repo from the cache deletes them too.
  const patternRoot = plan.source === 'local' ? plan.root! : repoCacheFolder(cacheDir, plan.repo);
  const params = pipelineParamsFromOptions(opts, backend, {
    tensors,
    skipped,
    // Already applied by the plan, on the repo-relative file names the user sees there.
    filter: [],
    exclude: [],
    argv: process.argv,
    cacheDir: resolveCacheDir({
      ...(opts.cacheDir !== undefined && { cacheDir: opts.cacheDir }),
      root: patternRoot,
      onFallback: deps.log ?? ((line) => void process.stderr.write(line + '\n')),
    }),
    labelRules: opts.labels !== undefined ? createHash('sha256').update(readFileSync(opts.labels)).digest('hex') : null,
    ...(aTensors && { aTensors }),
  });
  const summary = await (deps.runPipeline ?? runPipeline)(params, { ...deps, native });
  return { plan, summary };
}

/** `deps` lets a test run the command through commander with a fake pipeline or hub. */
export function registerHf(program: Command, deps: HfDeps = {}): void {
  addRunOptions(
    program
      .command('hf')
      .description('benchmark the linear layers of a Hugging Face checkpoint (plans from remote headers, fetches only the shards it needs)')
      .argument('[model]', '<org>/<name>[@revision]; optional with --local')
      .option('--offline', 'use only the HF cache (also HF_HUB_OFFLINE=1)', false)
      .option('--local <dir>', 'a folder in HF layout (config.json + safetensors, sharded or not) instead of the hub')
      .option('--dry-run', 'print the plan (tensors, shapes, shards, download size) and stop', false)
      .option('--json', 'print the plan as JSON', false)
      .option('--manifest <file>', 'use this weights manifest instead of the shipped ones')
      .option('--hub-url <url>', 'hub endpoint (default $HF_ENDPOINT or https://huggingface.co)')
      .option('--hf-cache <dir>', 'HF cache root (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)')
      .option('--verify', 're-hash files already in the cache against the hub before using them', false),
  ).action(async (model: string | undefined, raw: Record<string, unknown>) => {
    const { summary } = await hfCommand(model, raw, deps);
    if (summary) {
      const out = deps.stdout ?? ((text: string) => void process.stdout.write(text));
      printSummary(summary, (line) => out(line + '\n'));
      process.exitCode = runExitCode(summary);
    }
  });
}
