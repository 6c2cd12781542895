import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { assertSafeShardFilename, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE } from '@huggingface/hub';

import { BadFileError, EsmmError } from '../errors.js';
import type { ModelConfigJson } from './architectures.js';
import { assemblePlan, planLabels } from './assemble-plan.js';
import type { LoadedManifest } from './manifest.js';
import type { HeaderMap, ModelPlan, PlannedFile, TensorSelector } from './plan-types.js';
import { readSafetensorsHeaderFile } from './read-safetensors-header-file.js';
import { resolveRules } from './resolve-rules.js';

export const CONFIG_FILE = 'config.json';

export interface PlanFromDirParams {
  /** A snapshot folder of the HF cache, or any folder in HF layout. */
  dir: string;
  repo: string;
  revision: string;
  commit?: string;
  source: 'cache' | 'local';
  manifest?: LoadedManifest;
  /** Keeps only the linear layers the run wants; only their shards must exist. */
  select?: TensorSelector;
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BadFileError(path, `not valid JSON (${(err as Error).message})`);
  }
}

/** Reads an index's weight_map, refusing shard names that would leave the folder. */
async function readWeightMap(path: string): Promise<Record<string, string>> {
  const json = (await readJson(path)) as { weight_map?: unknown } | null;
  const map = json?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new BadFileError(path, 'no weight_map object');
  const out: Record<string, string> = {};
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string') throw new BadFileError(path, `weight_map entry ${name} is not a file name`);
    try {
      assertSafeShardFilename(file);
    } catch (err) {
      throw new BadFileError(path, (err as Error).message, 'UNSUPPORTED');
    }
    out[name] = file;
  }
  return out;
}

/**
 * Plans a run over files on disk: a cached snapshot (offline) or a local HF-layout folder.
 * Only the shards that hold linear layers are read (headers only), and only they must exist.
 */
export async function planFromDir(p: PlanFromDirParams): Promise<ModelPlan> {
  const cache = p.source === 'cache';
  const missingCode = cache ? 'OFFLINE' : 'NOT_FOUND';
  const where = cache ? `offline: the cached snapshot of ${p.repo}@${p.revision} (${p.dir})` : `folder ${p.dir}`;
  const hint = cache ? '; run without --offline to fetch it' : '';

  const configPath = join(p.dir, CONFIG_FILE);
  const configSize = await fileSize(configPath);
  if (configSize === undefined && cache && !p.manifest) throw new EsmmError(missingCode, `${where} lacks ${CONFIG_FILE}${hint}`);
  const config = configSize === undefined ? undefined : ((await readJson(configPath)) as ModelConfigJson);
  const { arch, rules } = resolveRules(p.repo, config, p.manifest);

  const extraFiles: PlannedFile[] = configSize === undefined ? [] : [{ path: CONFIG_FILE, size: configSize, linearTensors: 0 }];
  const headers: Record<string, HeaderMap> = {};
  let otherTensors = 0;
  let partial = false;
  let unreadLinear = 0;

  const indexPath = join(p.dir, SAFETENSORS_INDEX_FILE);
  const indexSize = await fileSize(indexPath);
  if (indexSize !== undefined) {
    extraFiles.push({ path: SAFETENSORS_INDEX_FILE, size: indexSize, linearTensors: 0 });
    const weightMap = await readWeightMap(indexPath);
    const res = arch.linear.map((r) => new RegExp(r.pattern));
    const labels = planLabels({ ...p, arch });
    const needed = new Set<string>();
    const linear = new Set<string>();
    for (const [name, file] of Object.entries(weightMap)) {
      const m = res.map((re) => re.exec(name)).find((x) => x !== null);
      if (!m) continue;
      linear.add(file);
      if (p.select && !p.select({ name, file, labels: { ...(m.groups as Record<string, string> | undefined), ...labels } })) continue;
      needed.add(file);
    }
    partial = linear.size > needed.size;
    const missing: string[] = [];
    for (const file of needed) if ((await fileSize(join(p.dir, file))) === undefined) missing.push(file);
    if (missing.length > 0) throw new EsmmError(missingCode, `${where} lacks ${missing.join(', ')}${hint}`);
    for (const file of needed) headers[file] = await readSafetensorsHeaderFile(join(p.dir, file));
    for (const [name, file] of Object.entries(weightMap)) {
      if (needed.has(file)) continue;
      if (res.some((re) => re.test(name))) unreadLinear++;
      else otherTensors++;
    }
  } else if ((await fileSize(join(p.dir, SAFETENSORS_FILE))) !== undefined) {
    headers[SAFETENSORS_FILE] = await readSafetensorsHeaderFile(join(p.dir, SAFETENSORS_FILE));
  } else {
    throw new EsmmError(missingCode, `${where} has neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX_FILE}${hint}`);
  }

  const fileInfo: Record<string, { size?: number }> = {};
  for (const file of Object.keys(headers)) {
    const size = await fileSize(join(p.dir, file));
    fileInfo[file] = size === undefined ? {} : { size };
  }
  return assemblePlan({
    repo: p.repo,
    revision: p.revision,
    ...(p.commit !== undefined && { commit: p.commit }),
    source: p.source,
    root: p.dir,
    arch,
    rules,
    ...(p.manifest && { manifest: p.manifest }),
    ...(p.select && { select: p.select }),
    headers,
    otherTensors,
    unreadLinear,
    partial,
    extraFiles,
    fileInfo,
  });
}
