/** Activation stage: a checkpoint's own forward pass, activation dumps, and their sparsification. */
export type { ActivationDump, Checkpoint, ForwardParams, Gpt2Config, LinearInputHook, LlamaConfig, Matmul, ModelConfig, RopeScaling, Tensor } from './types.js';
export { readModelConfig } from './read-model-config.js';
export { loadCheckpoint } from './load-checkpoint.js';
export { matmulCpu } from './matmul-cpu.js';
export { llamaForward } from './llama-forward.js';
export { gpt2Forward } from './gpt2-forward.js';
export { runForward } from './run-forward.js';
export { captureActivations, DUMP_FORMAT, type CaptureParams, type CaptureResult } from './capture-activations.js';
export { readActivationDump, INPUT_PREFIX } from './read-activation-dump.js';
export { writeSafetensors, type TensorToWrite } from './write-safetensors.js';
export { tokenizeText } from './tokenize-text.js';
export { resolveModelFolder, type ModelFolder } from './resolve-model-folder.js';
export { parseSparsifier, A_TILE_ROWS, type Sparsifier } from './parse-sparsifier.js';
export { calibrateThreshold } from './calibrate-threshold.js';
export { applySparsifier } from './apply-sparsifier.js';
export { logitQuality, type LogitQuality } from './logit-quality.js';
export { aTileDensity } from './a-tile-density.js';
export { sparsifyDump, type SparsifyParams, type SparsifyResult, type SparsifiedModule } from './sparsify-dump.js';
