import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { downloadFile, modelInfo, parseSafetensorsMetadata, pathsInfo } from '@huggingface/hub';

import { EsmmError } from '../errors.js';
import type { ModelConfigJson } from './architectures.js';
import { assemblePlan } from './assemble-plan.js';
import { hubError } from './hub-error.js';
import type { LoadedManifest } from './manifest.js';
import { CONFIG_FILE } from './plan-from-dir.js';
import type { HeaderMap, ModelPlan, PlannedFile, TensorSelector } from './plan-types.js';
import { repoCacheFolder } from './resolve-cached-snapshot.js';
import { COMMIT_SHA_RE } from './repo-spec.js';
import { resolveRules } from './resolve-rules.js';

/** How to reach the hub; each field can be replaced (tests point hubUrl at a local server). */
export interface HubAccess {
  /** Default https://huggingface.co (or HF_ENDPOINT, applied by the command). */
  hubUrl?: string;
  /** From HF_TOKEN; must start with `hf_`. */
  accessToken?: string;
  fetch?: typeof fetch;
}

export interface PlanFromHubParams {
  repo: string;
  revision: string;
  manifest?: LoadedManifest;
  /** HF cache root, to tell which files are already there. */
  cacheDir: string;
  hub: HubAccess;
  /** Keeps only the linear layers the run wants; shards holding none of them are not fetched. */
  select?: TensorSelector;
}

function access(hub: HubAccess): HubAccess {
  return {
    ...(hub.hubUrl !== undefined && { hubUrl: hub.hubUrl }),
    ...(hub.accessToken !== undefined && { accessToken: hub.accessToken }),
    ...(hub.fetch !== undefined && { fetch: hub.fetch }),
  };
}

/** The commit a branch or tag points at now (a sha is taken as is). */
export async function resolveCommit(repo: string, revision: string, hub: HubAccess): Promise<string> {
  if (COMMIT_SHA_RE.test(revision)) return revision;
  try {
    const info = await modelInfo({ name: repo, revision, additionalFields: ['sha'], ...access(hub) });
    const sha = (info as { sha?: unknown }).sha;
    if (typeof sha !== 'string' || !COMMIT_SHA_RE.test(sha)) throw new Error(`the hub gave no commit sha for ${revision}`);
    return sha;
  } catch (err) {
    throw hubError(err, `resolving ${repo}@${revision}`);
  }
}

/**
 * Plans from the remote headers only (range requests through @huggingface/hub): which
 * tensors are linear layers, their shapes and dtypes, which shards hold them, and how many
 * bytes those shards are. Nothing is written to the cache.
 */
export async function planFromHub(p: PlanFromHubParams): Promise<ModelPlan> {
  const hub = access(p.hub);
  const commit = await resolveCommit(p.repo, p.revision, hub);
  const at = `${p.repo}@${commit}`;

  let config: ModelConfigJson | undefined;
  try {
    const blob = await downloadFile({ repo: p.repo, path: CONFIG_FILE, revision: commit, ...hub });
    config = blob ? (JSON.parse(await blob.text()) as ModelConfigJson) : undefined;
  } catch (err) {
    throw hubError(err, `reading ${CONFIG_FILE} of ${at}`);
  }
  const { arch, rules } = resolveRules(p.repo, config, p.manifest);

  let meta: Awaited<ReturnType<typeof parseSafetensorsMetadata>>;
  try {
    meta = await parseSafetensorsMetadata({ repo: p.repo, revision: commit, ...hub });
  } catch (err) {
    if (err instanceof Error && /does not seem to contain safetensors/.test(err.message)) {
      throw new EsmmError(
        'UNSUPPORTED',
        `cannot plan ${at}: it has neither model.safetensors nor model.safetensors.index.json (a .bin-only checkpoint); download it and use \`esmm-bench run <folder>\``,
      );
    }
    throw hubError(err, `reading the safetensors headers of ${at}`);
  }
  const headers: Record<string, HeaderMap> = {};
  const strip = (h: Record<string, unknown>): HeaderMap => {
    const out: HeaderMap = {};
    for (const [k, v] of Object.entries(h)) if (k !== '__metadata__') out[k] = v as HeaderMap[string];
    return out;
  };
  let indexPath: string | undefined;
  if (meta.sharded) {
    indexPath = meta.filepaths[0]!;
    const prefix = indexPath.slice(0, indexPath.lastIndexOf('/') + 1);
    for (const [file, h] of Object.entries(meta.headers)) headers[prefix + file] = strip(h);
  } else {
    headers[meta.filepaths[0]!] = strip(meta.header);
  }

  const wanted = [...(config ? [CONFIG_FILE] : []), ...(indexPath ? [indexPath] : []), ...Object.keys(headers)];
  let infos: Awaited<ReturnType<typeof pathsInfo>>;
  try {
    infos = await pathsInfo({ repo: p.repo, paths: wanted, revision: commit, expand: true, ...hub });
  } catch (err) {
    throw hubError(err, `listing the files of ${at}`);
  }
  const snapshot = join(repoCacheFolder(p.cacheDir, p.repo), 'snapshots', commit);
  const fileInfo: Record<string, Omit<PlannedFile, 'path' | 'linearTensors'>> = {};
  for (const info of infos) {
    const cached = await stat(join(snapshot, info.path)).then(
      () => true,
      () => false,
    );
    fileInfo[info.path] = {
      size: info.lfs?.size ?? info.size,
      ...(info.lfs ? { sha256: info.lfs.oid } : info.oid ? { gitOid: info.oid } : {}),
      cached,
    };
  }
  const extraFiles: PlannedFile[] = wanted
    .filter((f) => f === CONFIG_FILE || f === indexPath)
    .map((path) => ({ path, ...fileInfo[path], linearTensors: 0 }));

  // Shards that hold no linear layer are dropped from the plan (and never downloaded).
  return assemblePlan({
    repo: p.repo,
    revision: p.revision,
    commit,
    source: 'hub',
    arch,
    rules,
    ...(p.manifest && { manifest: p.manifest }),
    ...(p.select && { select: p.select }),
    headers,
    extraFiles,
    fileInfo,
  });
}
