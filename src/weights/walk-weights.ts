import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

import { assertSafeShardFilename, SafetensorParseError } from '@huggingface/hub';
import fg from 'fast-glob';

import { BadFileError, describeError, errorCode } from '../errors.js';
import { isFloatDtype } from './dtypes.js';
import type { LabelRule } from './label-rules.js';
import { listFileTensors } from './list-file-tensors.js';
import type { PtTensors } from './read-pt-file.js';
import { selectModelWeights } from './select-model-weights.js';
import { parseLabels, researchAncestors } from './parse-labels.js';
import type { SkipRecord, TensorRef, WalkResult } from './types.js';

/** Every extension safetensors, PyTorch and Lightning checkpoints are saved under. */
export const WEIGHT_GLOBS = [
  '**/*.safetensors',
  '**/*.safetensors.index.json',
  '**/*.pt',
  '**/*.pth',
  '**/*.pth.tar',
  '**/*.bin',
  '**/*.ckpt',
];
const INDEX_SUFFIX = '.safetensors.index.json';

export interface WalkParams {
  /** A weight file, a sharded index, or a directory searched recursively. */
  root: string;
  /** User label rules, applied after the built-in path rules. */
  labelRules?: LabelRule[];
  /** Also list optimizer state of training checkpoints (default: model weights only). */
  allTensors?: boolean;
}

function tensorWord(name: string): string {
  return name === '' ? 'the saved tensor' : `tensor "${name}"`;
}

/** weight_map of a sharded index: tensor name → shard path, resolved beside the index. */
async function readIndex(indexFile: string): Promise<Map<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexFile, 'utf8'));
  } catch (err) {
    throw new BadFileError(indexFile, `index is not valid JSON (${(err as Error).message})`);
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new BadFileError(indexFile, 'index has no weight_map object');
  }
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') throw new BadFileError(indexFile, `weight_map entry "${name}" is not a file name`);
    try {
      assertSafeShardFilename(shard);
    } catch (err) {
      if (err instanceof SafetensorParseError) throw new BadFileError(indexFile, err.message);
      throw err;
    }
    out.set(name, join(dirname(indexFile), shard));
  }
  return out;
}

/**
 * Finds every weight file under `root` and lists its 2-D float tensors (headers only; no
 * tensor data is read). Everything else, including files that fail validation, becomes a
 * SkipRecord with a code and a one-line reason naming the file. Sharded checkpoints list each
 * tensor once, under the shard that holds it. Order: sorted paths, then file order.
 */
export async function walkWeights(params: WalkParams): Promise<WalkResult> {
  const { root, labelRules = [], allTensors = false } = params;
  let rootStat;
  try {
    rootStat = await stat(root);
  } catch {
    throw new BadFileError(root, 'no such file or directory', 'NOT_FOUND');
  }
  const isDir = rootStat.isDirectory();
  const files = isDir
    ? (await fg(WEIGHT_GLOBS, { cwd: root, onlyFiles: true, followSymbolicLinks: true })).sort().map((f) => join(root, f))
    : [root];
  const prefix = researchAncestors(resolve(isDir ? root : dirname(root)));
  const labelPath = (file: string): string =>
    [...prefix, ...(isDir ? relative(root, file).split(sep) : [basename(file)])].join('/');

  const tensors: TensorRef[] = [];
  const skipped: SkipRecord[] = [];
  const notes: string[] = [];
  const skipFile = (file: string, err: unknown): void => {
    const reason = describeError(err);
    skipped.push({ file, labels: parseLabels(labelPath(file), labelRules), code: errorCode(err), reason });
  };

  // Shards named by an index are listed through it: only the tensors it maps to them.
  const claimed = new Map<string, Set<string>>();
  for (const file of files.filter((f) => f.endsWith(INDEX_SUFFIX))) {
    try {
      const map = await readIndex(file);
      for (const [name, shard] of map) {
        const key = resolve(shard);
        if (!claimed.has(key)) claimed.set(key, new Set());
        claimed.get(key)?.add(name);
      }
      const missing = [...new Set(map.values())].filter((s) => !files.some((f) => resolve(f) === resolve(s)));
      for (const shard of missing) {
        try {
          await stat(shard);
          files.push(shard);
        } catch {
          skipFile(file, new BadFileError(file, `shard ${basename(shard)} is missing`));
        }
      }
    } catch (err) {
      skipFile(file, err);
    }
  }
  files.sort();

  for (const file of files) {
    if (file.endsWith(INDEX_SUFFIX)) continue;
    const labels = parseLabels(labelPath(file), labelRules);
    let locations;
    try {
      locations = await listFileTensors(file);
    } catch (err) {
      skipFile(file, err);
      continue;
    }
    const stubbed = (locations as PtTensors).stubbed;
    if (stubbed) notes.push(`${file}: ${stubbed.join(', ')} stubbed as inert placeholders (never imported or called)`);
    if (!allTensors && locations.some((l) => l.format === 'pt')) {
      const { keep, dropped } = selectModelWeights(locations.map((l) => l.name));
      if (dropped > 0) {
        notes.push(`${file}: ${dropped} tensors of optimizer or training state left out (--all-tensors to include them)`);
        locations = locations.filter((l) => keep(l.name));
      }
    }
    const wanted = claimed.get(resolve(file));
    if (wanted) {
      const held = new Set(locations.map((l) => l.name));
      for (const name of wanted) {
        if (!held.has(name)) {
          skipped.push({ file, name, labels, code: 'BAD_FILE', reason: `${file}: the index maps tensor "${name}" here but the shard does not hold it` });
        }
      }
    }
    for (const loc of locations) {
      if (wanted && !wanted.has(loc.name)) continue;
      const base = { file, name: loc.name, shape: loc.shape, dtype: loc.dtype, labels };
      if (!isFloatDtype(loc.dtype)) {
        skipped.push({ ...base, code: 'NOT_FLOAT', reason: `${file}: ${tensorWord(loc.name)} is ${loc.dtype}, not a float dtype` });
      } else if (loc.shape.length !== 2) {
        const dims = loc.shape.length === 0 ? 'a scalar' : `${loc.shape.length}-D [${loc.shape.join(', ')}]`;
        skipped.push({ ...base, code: 'NOT_2D', reason: `${file}: ${tensorWord(loc.name)} is ${dims}, not a 2-D matrix` });
      } else if (loc.shape[0] === 0 || loc.shape[1] === 0) {
        skipped.push({ ...base, code: 'EMPTY', reason: `${file}: ${tensorWord(loc.name)} is empty [${loc.shape.join(', ')}]` });
      } else {
        tensors.push({ file, name: loc.name, shape: loc.shape, dtype: loc.dtype, format: loc.format, labels });
      }
    }
  }
  return { tensors, skipped, ...(notes.length > 0 ? { notes } : {}) };
}
