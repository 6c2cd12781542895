import type { Orientation } from '../weights/types.js';

/** A tensor entry of a safetensors header, as far as planning needs it. */
export interface HeaderEntry {
  dtype: string;
  shape: number[];
}

/** Tensor name → entry, for one file. */
export type HeaderMap = Record<string, HeaderEntry>;

/** A linear-layer weight the run will benchmark. */
export interface PlannedTensor {
  name: string;
  /** Repo-relative file holding it (e.g. `model-00001-of-00002.safetensors`). */
  file: string;
  shape: number[];
  dtype: string;
  orientation: Orientation;
  /** `layer` and `module` from the rule's named groups (when it has them). */
  labels: Record<string, string>;
}

/** A matched tensor that cannot be benchmarked (not 2-D, not a float dtype), with why. */
export interface PlannedSkip {
  name: string;
  file: string;
  shape: number[];
  dtype: string;
  reason: string;
}

/** A file the run needs. */
export interface PlannedFile {
  path: string;
  /** Bytes; unknown for a local file not yet looked at. */
  size?: number;
  /** sha256 of the content, where the hub gives it (LFS files). */
  sha256?: string;
  /** git blob id (sha1), where the hub gives it (regular files). */
  gitOid?: string;
  /** Linear tensors it holds (0 for config.json and the index). */
  linearTensors: number;
  /** Already in the local cache (hub plans only). */
  cached?: boolean;
}

export type PlanSource = 'hub' | 'cache' | 'local';

/** Decides from a tensor's name, file and labels (not its data) whether the run wants it. */
export type TensorSelector = (t: { name: string; file: string; labels: Record<string, string> }) => boolean;

export interface ModelPlan {
  repo: string;
  /** Revision asked for (branch, tag or sha). */
  revision: string;
  /** The commit it resolved to; undefined for a plain local folder. */
  commit?: string;
  source: PlanSource;
  /** Folder holding the files (snapshot or local folder); undefined before a hub download. */
  root?: string;
  architecture: string;
  /** Where the rules came from: `manifest <file>` or `config.json model_type=<t>`. */
  rules: string;
  orientation: Orientation;
  /** Labels on every row (model, revision, arch, manifest labels). */
  labels: Record<string, string>;
  tensors: PlannedTensor[];
  /** Linear layers the selector (--filter / --exclude) left out; their shards are not fetched. */
  filteredOut: number;
  skipped: PlannedSkip[];
  /** Tensors in the checkpoint that are not linear layers. */
  otherTensors: number;
  files: PlannedFile[];
  /** Bytes still to download (hub plans; 0 otherwise). */
  downloadBytes: number;
  warnings: string[];
}
