import { join } from 'node:path';

import type { Command } from 'commander';
import { z } from 'zod';

import { defaultKernels } from '../bench/kernel-roles.js';
import { runPipeline } from '../bench/run-pipeline.js';
import { SAMPLE_TREES, ensureSampleTree } from '../bench/sample-tree.js';
import type { PipelineDeps, PipelineSummary } from '../bench/types.js';
import { loadNative } from '../native/index.js';
import { type WrittenReport, writeReport } from '../output/write-report.js';
import { resolveBackend } from '../patterns/resolve-backend.js';
import { walkWeights } from '../weights/index.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { BackendSchema, addBackendOption, parseOptions } from './common-options.js';
import { RUN_DEFAULTS, printSummary, runExitCode } from './run.js';

export interface DefaultJobResult {
  backend: 'cpu' | 'cuda';
  tree: string;
  summary: PipelineSummary;
  report: WrittenReport;
}

/**
 * What `npm start` runs: a generated, LLM-shaped, magnitude-pruned tree (made on first use)
 * benchmarked on the best backend present, with CSV, sidecar and report under `outDir`.
 */
export async function defaultJob(
  opts: { outDir: string; backend: 'auto' | 'cpu' | 'cuda' },
  deps: PipelineDeps & { print?: (line: string) => void } = {},
): Promise<DefaultJobResult> {
  const print = deps.print ?? ((line: string) => void process.stdout.write(line + '\n'));
  const outDir = prepareOutputPath(opts.outDir, { flag: '--out-dir', kind: 'dir' });
  const native = deps.native ?? loadNative();
  const backend = resolveBackend(native, opts.backend);
  const spec = SAMPLE_TREES[backend];
  const tree = join(outDir, `sample-tree-${backend}`);
  if (backend === 'cpu') {
    print(
      `${opts.backend === 'cpu' ? 'CPU backend as asked' : 'No usable GPU'}: running the CPU backend at small sizes (hidden ${spec.hidden}, intermediate ${spec.intermediate}, M = ${RUN_DEFAULTS.cpu.ms.join(',')}). ` +
        'These are CPU timings (CPU ESMM vs the CPU reference GEMM), not GPU numbers.',
    );
  } else {
    print(`GPU found: Llama-2-7B-shaped layers (hidden ${spec.hidden}, intermediate ${spec.intermediate}), M = ${RUN_DEFAULTS.cuda.ms.join(',')}.`);
  }
  await ensureSampleTree(tree, spec, print);
  const walk = await walkWeights({ root: tree });
  const d = RUN_DEFAULTS[backend];
  const csv = join(outDir, `default-${backend}.csv`);
  const summary = await runPipeline(
    {
      tensors: walk.tensors,
      skipped: walk.skipped,
      orientation: 'linear',
      ms: [...d.ms],
      kernels: defaultKernels(native.info().registry),
      backend,
      runs: d.runs,
      warmup: d.warmup,
      l2: 'cold',
      seed: 1,
      out: csv,
      resume: false,
      overwrite: true,
      cacheDir: join(tree, '.esmm-cache'),
      argv: process.argv,
      progress: deps.log !== undefined || process.stderr.isTTY === true,
    },
    { ...deps, native },
  );
  printSummary(summary, print);
  const report = await writeReport({ csv, outDir: join(outDir, `default-${backend}-report`) });
  print('');
  print(report.markdown.trimEnd());
  print('');
  print(`report: ${report.files.join(', ')}`);
  return { backend, tree, summary, report };
}

const DefaultOptionsSchema = z.object({ outDir: z.string().min(1), backend: BackendSchema });

export function registerDefault(program: Command): void {
  const cmd = program
    .command('default')
    .description('benchmark a generated sample tree (made on first use) and write CSV, sidecar and report under out/')
    .option('--out-dir <dir>', 'output folder', 'out');
  addBackendOption(cmd).action(async (raw: Record<string, unknown>) => {
    const result = await defaultJob(parseOptions(DefaultOptionsSchema, raw));
    process.exitCode = runExitCode(result.summary);
  });
}
