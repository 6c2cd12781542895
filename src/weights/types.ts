/** Source dtypes, spelled as safetensors spells them. */
export type SourceDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | string;

export type Orientation = 'linear' | 'raw';

/** One 2-D float tensor found in a weight file; reading it is a separate step. */
export interface TensorRef {
  /** Path of the file holding the tensor, as the user gave it joined with the walk. */
  file: string;
  /** Tensor name inside the file; '' for a bare `torch.save(tensor)`. */
  name: string;
  /** Shape as stored, e.g. [out_features, in_features] for a Linear weight. */
  shape: number[];
  dtype: SourceDtype;
  format: 'safetensors' | 'pt';
  /** Labels parsed from the path (pruner, group, perm, sparsity, user rules…). */
  labels: Record<string, string>;
  /** Orientation forced by whoever found the tensor (e.g. GPT-2 Conv1D is stored [in, out]). */
  orientation?: Orientation;
}

/** Something found while walking that is not a benchmarkable tensor, with why. */
export interface SkipRecord {
  file: string;
  name?: string;
  shape?: number[];
  dtype?: string;
  labels?: Record<string, string>;
  code: string;
  reason: string;
}

export interface WalkResult {
  tensors: TensorRef[];
  skipped: SkipRecord[];
  /** What the user should know about files that were read (placeholders, state left out). */
  notes?: string[];
}
