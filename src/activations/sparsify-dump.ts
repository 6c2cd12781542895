import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

import { BadFileError } from '../errors.js';
import { aTileDensity } from './a-tile-density.js';
import { applySparsifier } from './apply-sparsifier.js';
import { calibrateThreshold } from './calibrate-threshold.js';
import { DUMP_FORMAT } from './capture-activations.js';
import { loadCheckpoint } from './load-checkpoint.js';
import { logitQuality, type LogitQuality } from './logit-quality.js';
import type { Sparsifier } from './parse-sparsifier.js';
import { INPUT_PREFIX, readActivationDump } from './read-activation-dump.js';
import { readModelConfig } from './read-model-config.js';
import { relativeError } from './relative-error.js';
import { runForward } from './run-forward.js';
import type { ForwardDevice, Matmul, Tensor } from './types.js';
import { writeSafetensors, type TensorToWrite } from './write-safetensors.js';

export interface SparsifyParams {
  /** The dense dump whose inputs calibrate the thresholds. */
  dump: string;
  /** The HF-layout folder of the model the dump came from. */
  dir: string;
  sparsifier: Sparsifier;
  /** Label of the method as the user wrote it (`teal:0.5`). */
  spec: string;
  out: string;
  matmul?: Matmul;
  /** Run both forward passes on this GPU (runForward), as capture --backend cuda does. */
  device?: ForwardDevice;
}

export interface SparsifiedModule {
  module: string;
  threshold: number;
  /** Share of zero entries of the input the sparse pass fed the layer. */
  elementSparsity: number;
  /** Share of (32-row tile, k) segments holding a nonzero (A's pattern density). */
  aTileDensity: number;
}

export interface SparsifyResult {
  out: string;
  modules: SparsifiedModule[];
  quality: LogitQuality;
}

/** How far a dump's input may be from this forward pass and still be taken as its own capture. */
const MATCH_TOLERANCE = 1e-4;

function zeroShare(x: Float32Array): number {
  let z = 0;
  for (const v of x) if (v === 0) z++;
  return x.length === 0 ? 0 : z / x.length;
}

/**
 * Applies an activation sparsifier to a dump: per-layer thresholds calibrated on the dump's
 * dense inputs, then a second forward pass with them applied to every linear input as it
 * arrives. Writes the inputs of that pass (what a sparse kernel would be fed) as a new dump,
 * with the thresholds and the quality cost against the dense pass in its metadata.
 */
export async function sparsifyDump(p: SparsifyParams): Promise<SparsifyResult> {
  const dump = await readActivationDump(p.dump);
  const config = await readModelConfig(p.dir);
  const weights = await loadCheckpoint(p.dir);
  const thresholds = new Map<string, number>();
  for (const [module, t] of dump.inputs) thresholds.set(module, calibrateThreshold(t.data, t.shape[0], t.shape[1], p.sparsifier));

  const matmul = { ...(p.matmul ? { matmul: p.matmul } : {}), ...(p.device ? { device: p.device } : {}) };
  // The dense pass must reproduce the dump, or the thresholds belong to another model.
  const dense = await runForward({
    config,
    weights,
    tokens: dump.tokens,
    ...matmul,
    onLinearInput: (module, x) => {
      const captured = dump.inputs.get(module);
      if (!captured || captured.data.length !== x.length) return;
      const err = relativeError(x, captured.data);
      if (err > MATCH_TOLERANCE) {
        throw new BadFileError(p.dump, `input.${module} differs from the forward pass of ${p.dir} (relative error ${err.toPrecision(2)}): is it a dense capture of this model?`);
      }
    },
  });
  const inputs = new Map<string, Tensor>();
  const sparse = await runForward({
    config,
    weights,
    tokens: dump.tokens,
    ...matmul,
    onLinearInput: (module, x, rows, cols) => {
      const threshold = thresholds.get(module);
      if (threshold === undefined) throw new BadFileError(p.dump, `has no input.${module}, so no threshold for it: capture it from this model first`);
      const y = applySparsifier(x, rows, cols, p.sparsifier, threshold);
      inputs.set(module, { data: y === x ? x.slice() : y, shape: [rows, cols] });
      return y;
    },
  });
  const rows = dump.tokens.length;
  const vocab = dense.length / rows;
  const quality = logitQuality(dense, sparse, rows, vocab);
  const modules: SparsifiedModule[] = [...inputs].map(([module, t]) => ({
    module,
    threshold: thresholds.get(module)!,
    elementSparsity: zeroShare(t.data),
    aTileDensity: aTileDensity(t.data, t.shape[0], t.shape[1]),
  }));

  const tensors: TensorToWrite[] = [
    { name: 'tokens', shape: [rows], data: BigInt64Array.from(dump.tokens.map(BigInt)) },
    ...[...inputs].map(([module, t]) => ({ name: INPUT_PREFIX + module, shape: t.shape, data: t.data })),
    { name: 'logits', shape: [rows, vocab], data: sparse },
  ];
  const { sparsity, tileRows } = p.sparsifier as { sparsity?: number; tileRows?: number };
  await mkdir(dirname(p.out), { recursive: true });
  await writeSafetensors(p.out, tensors, {
    ...dump.metadata,
    format: DUMP_FORMAT,
    sparsifier: p.sparsifier.method,
    sparsifier_settings: JSON.stringify({
      spec: p.spec,
      ...(sparsity !== undefined ? { target_sparsity: sparsity } : {}),
      ...(tileRows !== undefined ? { tile_rows: tileRows } : {}),
      calibration: 'per-layer threshold from the dense dump',
    }),
    thresholds: JSON.stringify(Object.fromEntries(thresholds)),
    quality: JSON.stringify({ max_logit_drift: quality.maxLogitDrift, kl_divergence: quality.klDivergence, top1_agreement: quality.top1Agreement }),
  });
  return { out: p.out, modules, quality };
}
