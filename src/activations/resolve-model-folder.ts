import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';

import { getHFHubCachePath, snapshotDownload } from '@huggingface/hub';

import { UsageError } from '../errors.js';
import { parseRepoSpec, resolveCachedSnapshot } from '../hub/index.js';

/** Where a model comes from: its folder, and the labels a dump records (model, revision). */
export interface ModelFolder {
  dir: string;
  model: string;
  revision: string;
}

/**
 * A local HF-layout folder as given, or `org/name[@revision]` from the Hugging Face cache
 * (downloaded into it first when missing, unless offline).
 */
export async function resolveModelFolder(source: string, opts: { hfCache?: string; offline?: boolean } = {}): Promise<ModelFolder> {
  const local = await stat(source).catch(() => undefined);
  if (local?.isDirectory()) return { dir: resolve(source), model: source.replace(/\/+$/, '').split('/').pop() ?? source, revision: 'local' };
  if (local) throw new UsageError(`${source}: not a folder (capture takes an HF-layout model folder or org/name)`);
  const spec = parseRepoSpec(source);
  const cacheDir = resolve(opts.hfCache ?? getHFHubCachePath());
  const revision = spec.revision ?? 'main';
  try {
    const cached = await resolveCachedSnapshot({ cacheDir, repo: spec.repo, revision });
    const hasConfig = await stat(resolve(cached.dir, 'config.json')).catch(() => undefined);
    if (hasConfig) return { dir: cached.dir, model: spec.repo, revision: cached.commit };
  } catch (err) {
    if (opts.offline) throw err;
  }
  const dir = await snapshotDownload({ repo: { type: 'model', name: spec.repo }, revision, cacheDir });
  return { dir, model: spec.repo, revision: dir.split('/').pop() ?? revision };
}
