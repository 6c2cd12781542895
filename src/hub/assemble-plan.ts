import type { Architecture } from './architectures.js';
import type { LoadedManifest } from './manifest.js';
import type { HeaderMap, ModelPlan, PlannedFile, PlanSource, TensorSelector } from './plan-types.js';
import { checkExpectations, selectLinearTensors } from './select-linear-tensors.js';

export interface AssemblePlanParams {
  repo: string;
  revision: string;
  commit?: string;
  source: PlanSource;
  root?: string;
  arch: Architecture;
  rules: string;
  manifest?: LoadedManifest;
  /** Headers of the files that hold linear layers (other files may be left out). */
  headers: Record<string, HeaderMap>;
  /** Non-linear tensors known from an index but whose file was not read. */
  otherTensors?: number;
  /** Linear layers in files left unread because the selector wants none of them. */
  unreadLinear?: number;
  /** Files needed besides the weight shards (config.json, the index). */
  extraFiles: PlannedFile[];
  /** Facts about the weight shards (size, hashes, cached), by path. */
  fileInfo?: Record<string, Omit<PlannedFile, 'path' | 'linearTensors'>>;
  /** Keeps only the linear layers the run wants (default: all). */
  select?: TensorSelector;
  /** Some files with linear layers were left unread (no selected tensor in them): skip the manifest's counts. */
  partial?: boolean;
}

/** Labels on every row of a checkpoint: model, revision (the commit when known), arch, then the manifest's. */
export function planLabels(p: { repo: string; revision: string; commit?: string; arch: Architecture; manifest?: LoadedManifest }): Record<string, string> {
  return { model: p.repo, revision: p.commit ?? p.revision, arch: p.arch.id, ...p.manifest?.manifest.labels };
}

/** Selects the linear layers and builds the plan every source (hub, cache, local folder) shares. */
export function assemblePlan(p: AssemblePlanParams): ModelPlan {
  const labels = planLabels(p);
  const sel = selectLinearTensors(p.headers, p.arch);
  const select = p.select;
  const tensors = select ? sel.tensors.filter((t) => select({ name: t.name, file: t.file, labels: { ...t.labels, ...labels } })) : sel.tensors;
  const counts = new Map<string, number>();
  for (const t of tensors) counts.set(t.file, (counts.get(t.file) ?? 0) + 1);
  const shards: PlannedFile[] = [...counts.entries()].map(([path, n]) => ({ path, ...p.fileInfo?.[path], linearTensors: n }));
  const files = [...p.extraFiles, ...shards];
  const warnings: string[] = [];
  if (sel.tensors.length === 0) warnings.push(`no tensor matches the ${p.arch.id} linear-layer rules`);
  else if (tensors.length === 0) warnings.push('--filter / --exclude leave no linear layer');
  for (const s of sel.skipped) warnings.push(`${s.name}: ${s.reason}`);
  if (p.manifest?.manifest.expect && !p.partial) warnings.push(...checkExpectations(sel.tensors, p.manifest.manifest.expect));
  return {
    repo: p.repo,
    revision: p.revision,
    ...(p.commit !== undefined && { commit: p.commit }),
    source: p.source,
    ...(p.root !== undefined && { root: p.root }),
    architecture: p.arch.id,
    rules: p.rules,
    orientation: p.arch.orientation,
    labels,
    tensors,
    filteredOut: sel.tensors.length - tensors.length + (p.unreadLinear ?? 0),
    skipped: sel.skipped,
    otherTensors: sel.otherTensors + (p.otherTensors ?? 0),
    files,
    downloadBytes: files.reduce((sum, f) => sum + (f.cached === false ? (f.size ?? 0) : 0), 0),
    warnings,
  };
}
