/** Activation stage: the checkpoint's own forward pass, the inputs of its linear layers, and their sparsification. */
import type { DeviceTensors } from '../native/types.js';

/** A Llama-family decoder (Llama, Mistral, Qwen2/Qwen3-style configs). */
export interface LlamaConfig {
  family: 'llama';
  modelType: string;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  rmsEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  /** Attention window (Mistral), or null for full causal attention. */
  slidingWindow: number | null;
  hiddenAct: string;
  tieEmbeddings: boolean;
}

/** The rope_scaling variants the forward pass reproduces. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** GPT-2: LayerNorm, learned positions, Conv1D weights stored [in, out]. */
export interface Gpt2Config {
  family: 'gpt2';
  modelType: string;
  hidden: number;
  inner: number;
  layers: number;
  heads: number;
  vocab: number;
  positions: number;
  lnEps: number;
  activation: string;
  scaleAttnWeights: boolean;
  scaleByInverseLayerIdx: boolean;
}

export type ModelConfig = LlamaConfig | Gpt2Config;

/** A float32 tensor held in memory, row-major. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/** The weights of a checkpoint by tensor name. */
export interface Checkpoint {
  /** The tensor, or undefined when the checkpoint does not hold it. */
  get(name: string): Tensor | undefined;
  names(): string[];
}

/**
 * One linear layer's GEMM: x [m, k] times the weight, giving [m, n]. `layout` says how the
 * weight is stored: 'out-in' for nn.Linear ([n, k], y = x·Wᵀ), 'in-out' for Conv1D ([k, n]).
 * The forward pass calls only this for its projections, so another GEMM (a GPU one) can be
 * plugged in.
 */
export type Matmul = (p: { x: Float32Array; m: number; k: number; w: Float32Array; n: number; layout: 'out-in' | 'in-out' }) => Promise<Float32Array>;

/**
 * Called with the input of every linear module (rows = tokens, cols = in_features) before its
 * GEMM. What it returns is used as the input instead (a sparsifier); undefined keeps x.
 */
export type LinearInputHook = (module: string, x: Float32Array, rows: number, cols: number) => Float32Array | void;

/** A GPU for the forward pass: the addon's device tensors and the CUDA device index. */
export interface ForwardDevice {
  tensors: DeviceTensors;
  index: number;
}

export interface ForwardParams {
  config: ModelConfig;
  weights: Checkpoint;
  tokens: number[];
  /** The projections' GEMM on the CPU path (default matmulCpu). */
  matmul?: Matmul;
  /** Run every step on this GPU, activations staying there (matmul is not used then). */
  device?: ForwardDevice;
  onLinearInput?: LinearInputHook;
}

/** The dump a capture writes and a run reads. */
export interface ActivationDump {
  tokens: number[];
  /** `input.<module>` tensors by module name, [tokens, in_features]. */
  inputs: Map<string, Tensor>;
  logits?: Tensor;
  metadata: Record<string, string>;
}
