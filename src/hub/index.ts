/** Hugging Face stage: plan a checkpoint from its headers, fetch what the plan needs into the HF cache. */
export { BUILTIN_ARCHITECTURES, architectureForConfig, architectureById } from './architectures.js';
export { applyArchitecture } from './apply-architecture.js';
export type { Architecture, LinearRule, ModelConfigJson } from './architectures.js';
export {
  ManifestSchema,
  manifestJsonSchema,
  loadManifests,
  findManifest,
  readManifestFile,
  parseManifest,
  defaultManifestDir,
  MANIFEST_SCHEMA_FILE,
} from './manifest.js';
export type { Manifest, LoadedManifest } from './manifest.js';
export { parseRepoSpec, assertSafeRepoId, assertSafeRevision, DEFAULT_REVISION, COMMIT_SHA_RE } from './repo-spec.js';
export type { RepoSpec } from './repo-spec.js';
export type { ModelPlan, PlannedTensor, PlannedFile, PlannedSkip, PlanSource, HeaderMap, TensorSelector } from './plan-types.js';
export { planFromHub, resolveCommit } from './plan-from-hub.js';
export type { HubAccess, PlanFromHubParams } from './plan-from-hub.js';
export { planFromDir, CONFIG_FILE } from './plan-from-dir.js';
export type { PlanFromDirParams } from './plan-from-dir.js';
export { resolveCachedSnapshot, repoCacheFolder } from './resolve-cached-snapshot.js';
export { fetchPlanFiles } from './fetch-plan-files.js';
export type { FetchPlanFilesParams } from './fetch-plan-files.js';
export { resumableFetch, MAX_RESUME_ATTEMPTS } from './resumable-fetch.js';
export { checkBlob } from './verify-blob.js';
export type { ExpectedContent } from './verify-blob.js';
export { createDownloadProgress, formatBytes } from './download-progress.js';
export type { DownloadProgress } from './download-progress.js';
export { readSafetensorsHeaderFile } from './read-safetensors-header-file.js';
export { selectLinearTensors, checkExpectations } from './select-linear-tensors.js';
export { formatPlan } from './format-plan.js';
export { planToTensorRefs } from './plan-to-tensor-refs.js';
