import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { getRepoFolderName } from '@huggingface/hub';

import { EsmmError } from '../errors.js';
import { COMMIT_SHA_RE } from './repo-spec.js';

/** The cache folder of a model repo: `<cacheDir>/models--org--name`. */
export function repoCacheFolder(cacheDir: string, repo: string): string {
  return join(cacheDir, getRepoFolderName({ type: 'model', name: repo }));
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Finds a revision in the HF cache without the network, as huggingface_hub does offline:
 * a commit sha names `snapshots/<sha>`; a branch or tag goes through `refs/<revision>`.
 */
export async function resolveCachedSnapshot(p: {
  cacheDir: string;
  repo: string;
  revision: string;
}): Promise<{ commit: string; dir: string }> {
  const storage = repoCacheFolder(p.cacheDir, p.repo);
  if (!(await isDir(storage))) {
    throw new EsmmError('OFFLINE', `offline: ${p.repo} is not in the Hugging Face cache ${p.cacheDir} (no ${getRepoFolderName({ type: 'model', name: p.repo })}); run without --offline to download it`);
  }
  let commit: string;
  if (COMMIT_SHA_RE.test(p.revision)) {
    commit = p.revision;
  } else {
    const ref = join(storage, 'refs', p.revision);
    try {
      commit = (await readFile(ref, 'utf8')).trim();
    } catch {
      throw new EsmmError('OFFLINE', `offline: revision "${p.revision}" of ${p.repo} is not in the cache (no ${ref}); run without --offline, or name a cached commit with @<sha>`);
    }
    if (!COMMIT_SHA_RE.test(commit)) throw new EsmmError('CACHE', `cache ref ${ref}: does not hold a commit sha`);
  }
  const dir = join(storage, 'snapshots', commit);
  if (!(await isDir(dir))) {
    throw new EsmmError('OFFLINE', `offline: commit ${commit} of ${p.repo} is not in the cache (no ${dir}); run without --offline to download it`);
  }
  return { commit, dir };
}
