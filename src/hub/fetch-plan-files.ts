import { lstat, mkdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
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

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/**
 * The bytes an interrupted earlier download left beside the blob (`<blob>.incomplete`, which the
 * library would truncate), moved aside to `<blob>.resume` so the next download continues them.
 */
async function takeLeftover(blob: string, size: number | undefined): Promise<{ path: string; bytes: number } | undefined> {
  const incomplete = `${blob}.incomplete`;
  const resume = `${blob}.resume`;
  const inc = await sizeOf(incomplete);
  if (inc > 0 && inc >= (await sizeOf(resume))) await rename(incomplete, resume);
  else if (inc > 0) await rm(incomplete, { force: true });
  const bytes = await sizeOf(resume);
  if (bytes === 0) return undefined;
  if (size !== undefined && bytes >= size) {
    await rm(resume, { force: true });
    return undefined;
  }
  return { path: resume, bytes };
}

/**
 * Downloads the files a hub plan needs into the HF cache with @huggingface/hub's
 * downloadFileToCacheDir (blobs/, snapshots/<commit>/ links, as huggingface_hub lays them
 * out), records refs/<revision> → commit as huggingface_hub does, and checks every new
 * file's size and sha256 (or git blob id) against the hub before it is used. A file that
 * fails the check is removed from the cache. A download an earlier run left unfinished is
 * continued, not restarted. Returns the snapshot folder.
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

  for (const file of plan.files) {
    const pointer = join(snapshot, file.path);
    const had = await exists(pointer);
    const blobName = file.sha256 ?? file.gitOid;
    const partial = !had && blobName !== undefined ? await takeLeftover(join(storage, 'blobs', blobName), file.size) : undefined;
    if (!had) p.progress?.start(file.path, file.size ?? 0);
    const fetchImpl = resumableFetch({
      ...(p.hub.fetch && { fetch: p.hub.fetch }),
      ...(p.progress && { onBytes: (n: number) => p.progress!.advance(n) }),
      ...(partial && { partial }),
    });
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
      // Nothing of a bad download may seed the next attempt.
      await rm(blob, { force: true });
      if (partial) await rm(partial.path, { force: true });
      if (await lstat(pointer).then(() => true, () => false)) await rm(pointer, { force: true });
      throw new EsmmError('INTEGRITY', `integrity check of ${file.path} (${plan.repo}@${commit}) failed: ${why}; removed it from the cache`, { file: blob });
    }
    if (partial) await rm(partial.path, { force: true });
    if (!had) p.progress?.finish(file.path);
  }
  p.progress?.stop();
  return snapshot;
}
