import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

import { UsageError } from '../errors.js';
import { loadCheckpoint } from './load-checkpoint.js';
import { INPUT_PREFIX } from './read-activation-dump.js';
import { readModelConfig } from './read-model-config.js';
import { rowArgmax } from './row-argmax.js';
import { runForward } from './run-forward.js';
import type { ForwardDevice, Matmul, Tensor } from './types.js';
import { writeSafetensors, type TensorToWrite } from './write-safetensors.js';

/** Format tag of the dumps this tool writes, in their metadata. */
export const DUMP_FORMAT = 'esmm-activations/1';

export interface CaptureParams {
  /** HF-layout model folder. */
  dir: string;
  tokens: number[];
  /** The dump to write. */
  out: string;
  /** Labels recorded in the dump: the model's name and revision. */
  model: string;
  revision: string;
  matmul?: Matmul;
  /** Run the whole forward pass on this GPU (runForward). */
  device?: ForwardDevice;
  /** Where the forward pass ran, recorded in the dump's metadata (default 'cpu'). */
  backend?: 'cpu' | 'cuda';
}

export interface CaptureResult {
  out: string;
  tokens: number[];
  /** Every linear module's input, in forward order. */
  inputs: Map<string, Tensor>;
  logits: Tensor;
  /** argmax of the logits per token. */
  top1: number[];
}

/**
 * Runs the checkpoint's own float32 forward pass on the tokens and writes the input of every
 * linear layer as an activation dump: `input.<module>` [tokens, in_features], `tokens` (I64),
 * `logits`, and the labels in __metadata__ (DESIGN.md "Scale-out and real activations").
 */
export async function captureActivations(p: CaptureParams): Promise<CaptureResult> {
  if (p.tokens.length === 0) throw new UsageError('capture needs at least one token');
  const config = await readModelConfig(p.dir);
  const weights = await loadCheckpoint(p.dir);
  const inputs = new Map<string, Tensor>();
  const logitsData = await runForward({
    config,
    weights,
    tokens: p.tokens,
    ...(p.matmul ? { matmul: p.matmul } : {}),
    ...(p.device ? { device: p.device } : {}),
    onLinearInput: (module, x, rows, cols) => {
      // q, k and v share one input; the dump still holds one tensor per module, as transformers' hooks see it.
      inputs.set(module, { data: x.slice(), shape: [rows, cols] });
    },
  });
  const vocab = logitsData.length / p.tokens.length;
  const logits = { data: logitsData, shape: [p.tokens.length, vocab] };
  const tensors: TensorToWrite[] = [
    { name: 'tokens', shape: [p.tokens.length], data: BigInt64Array.from(p.tokens.map(BigInt)) },
    ...[...inputs].map(([module, t]) => ({ name: INPUT_PREFIX + module, shape: t.shape, data: t.data })),
    { name: 'logits', shape: logits.shape, data: logits.data },
  ];
  await mkdir(dirname(p.out), { recursive: true });
  await writeSafetensors(p.out, tensors, {
    format: DUMP_FORMAT,
    model: p.model,
    revision: p.revision,
    model_type: config.modelType,
    sparsifier: 'dense',
    sparsifier_settings: '{}',
    tokens: JSON.stringify(p.tokens),
    capture_backend: p.backend ?? 'cpu',
  });
  return { out: p.out, tokens: p.tokens, inputs, logits, top1: rowArgmax(logits.data, p.tokens.length, vocab) };
}
