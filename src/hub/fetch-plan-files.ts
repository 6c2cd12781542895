import { lstat, mkdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { downloadFileToCacheDir } from '@huggingface/hub';

import { EsmmError } from '../errors.js';
import type { DownloadProgress } from './download-progress.js';
import { hubError } from './hub-error.js';
import type { HubAccess } from './plan-from-hub.js';
import type { ModelPlan } from './plan-types.js';
import { repoCacheFolder } from './resolve-cached-snapshot.js';
import { resumableFetch } from './resumable-fetch.js';
import { checkBlob } from './verify-blob.js';

export interface FetchPlanFilesParams {
  /** A plan from planFromHub. */
  plan: ModelPlan;
  cacheDir: string;
  hub: HubAccess;
  progress?: DownloadProgress;
  /** Re-hash files that were already cached too (downloads are always checked). */
  verifyCached?: boolean;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Downloads the files a hub plan needs into the HF cache with @huggingface/hub's
 * downloadFileToCacheDir (blobs/, snapshots/<commit>/ links, as huggingface_hub lays them
 * out), records refs/<revision> → commit as huggingface_hub does, and checks every new
 * file's size and sha256 (or git blob id) against the hub before it is used. A file that
 * fails the check is removed from the cache. Returns the snapshot folder.
 */
export async function fetchPlanFiles(p: FetchPlanFilesParams): Promise<string> {
  const { plan } = p;
  if (plan.source !== 'hub' || plan.commit === undefined) throw new EsmmError('INTERNAL', `fetchPlanFiles needs a hub plan, got ${plan.source}`);
  const commit = plan.commit;
  const storage = repoCacheFolder(p.cacheDir, plan.repo);
  const snapshot = join(storage, 'snapshots', commit);

  if (plan.revision !== commit) {
    const ref = join(storage, 'refs', plan.revision);
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(ref, commit);
  }

  const fetchImpl = resumableFetch({
    ...(p.hub.fetch && { fetch: p.hub.fetch }),
    ...(p.progress && { onBytes: (n: number) => p.progress!.advance(n) }),
  });

  for (const file of plan.files) {
    const pointer = join(snapshot, file.path);
    const had = await exists(pointer);
    if (!had) p.progress?.start(file.path, file.size ?? 0);
    try {
      // `xet: false` keeps the body a plain HTTP download that resumableFetch can resume.
      const params = {
        repo: plan.repo,
        path: file.path,
        revision: commit,
        cacheDir: p.cacheDir,
        ...(p.hub.hubUrl !== undefined && { hubUrl: p.hub.hubUrl }),
        ...(p.hub.accessToken !== undefined && { accessToken: p.hub.accessToken }),
        fetch: fetchImpl,
        xet: false,
      };
      await downloadFileToCacheDir(params);
    } catch (err) {
      throw hubError(err, `downloading ${file.path} of ${plan.repo}@${commit}`);
    }
    const blob = await realpath(pointer);
    const why = await checkBlob(blob, !had || p.verifyCached ? file : { ...(file.size !== undefined && { size: file.size }) });
    if (why !== undefined) {
      await rm(blob, { force: true });
      if (await lstat(pointer).then(() => true, () => false)) await rm(pointer, { force: true });
      throw new EsmmError('INTEGRITY', `integrity check of ${file.path} (${plan.repo}@${commit}) failed: ${why}; removed it from the cache`, { file: blob });
    }
    if (!had) p.progress?.finish(file.path);
  }
  p.progress?.stop();
  return snapshot;
}
