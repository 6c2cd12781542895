import { statSync } from 'node:fs';

import { type Command, Option } from 'commander';

import { UsageError } from '../errors.js';
import { loadNative } from '../native/index.js';
import type { NativeBinding } from '../native/types.js';
import { type CacheTreeSummary, cacheTree } from '../patterns/cache-tree.js';
import { printable } from '../printable.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { resolveCacheDir } from '../patterns/pattern-cache.js';
import { type BackendChoice, resolveBackend } from '../patterns/resolve-backend.js';
import { loadLabelRules, readTensorF32, walkWeights } from '../weights/index.js';
import type { Orientation, TensorRef } from '../weights/types.js';

export interface CacheCommandOptions {
  cacheDir?: string;
  orientation?: Orientation;
  backend?: BackendChoice;
  labels?: string;
  json?: boolean;
}

/** `esmm-bench cache <path>`: fills the pattern cache; returns what was computed, reused and skipped. */
export async function cacheCommand(
  path: string,
  opts: CacheCommandOptions,
  deps: { native?: NativeBinding; readTensor?: (ref: TensorRef) => Promise<Float32Array>; log?: (line: string) => void } = {},
): Promise<CacheTreeSummary> {
  let rootIsFile: boolean;
  try {
    rootIsFile = statSync(path).isFile();
  } catch {
    throw new UsageError(`no such file or folder: ${path}`);
  }
  if (opts.cacheDir !== undefined) prepareOutputPath(opts.cacheDir, { flag: '--cache-dir', kind: 'dir' });
  const labelRules = opts.labels ? await loadLabelRules(opts.labels) : undefined;
  const walk = await walkWeights({ root: path, ...(labelRules ? { labelRules } : {}) });
  const native = deps.native ?? loadNative();
  const backend = resolveBackend(native, opts.backend ?? 'auto');
  return cacheTree({
    walk,
    cacheDir: resolveCacheDir({
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
      root: path,
      rootIsFile,
      onFallback: deps.log ?? ((line) => void process.stderr.write(line + '\n')),
    }),
    orientation: opts.orientation ?? 'linear',
    backend,
    native,
    readTensor: deps.readTensor ?? readTensorF32,
    ...(deps.log
      ? {
          onTensor: (e) =>
            deps.log!(`${e.status.padEnd(8)} ${e.file}${e.tensor ? '#' + e.tensor : ''}${e.reason ? ` (${e.reason})` : ''}`),
        }
      : {}),
  });
}

export function registerCache(program: Command): void {
  program
    .command('cache')
    .description('compute and store the B sparsity patterns of every 2-D tensor (reused when unchanged)')
    .argument('<path>', 'weight folder or file')
    .option('--cache-dir <dir>', 'pattern cache folder (default .esmm-cache/ next to the weights, or $ESMM_CACHE_DIR)')
    .addOption(new Option('--orientation <o>', 'linear: B = Wᵀ; raw: B = W').choices(['linear', 'raw']).default('linear'))
    .addOption(new Option('--backend <b>', 'where patterns are computed').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .option('--labels <rules.json>', 'extra path-label rules')
    .option('--json', 'print the summary as JSON', false)
    .action(async (path: string, opts: CacheCommandOptions) => {
      const summary = await cacheCommand(path, opts, opts.json ? {} : { log: (l) => void process.stderr.write(printable(l) + '\n') });
      if (opts.json) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      } else {
        process.stdout.write(
          `${summary.computed} computed, ${summary.reused} reused, ${summary.skipped} skipped, ${summary.failed} failed ` +
            `(${summary.backend}, ${(summary.wallMs / 1000).toFixed(2)} s) in ${summary.cacheDir}\n`,
        );
      }
      if (summary.skipped + summary.failed > 0) process.exitCode = 1;
    });
}
