import { join } from 'node:path';

import { EsmmError } from '../errors.js';
import type { SkipRecord, TensorRef } from '../weights/types.js';
import type { ModelPlan } from './plan-types.js';

/**
 * The pipeline's input for a plan whose files are on disk. A tensor stored already as K×N
 * (orientation 'raw', e.g. GPT-2 Conv1D) carries that on its ref, so no flag can transpose
 * it; a Linear weight leaves the choice to the run's --orientation (default: B = Wᵀ).
 */
export function planToTensorRefs(plan: ModelPlan): { tensors: TensorRef[]; skipped: SkipRecord[] } {
  const root = plan.root;
  if (root === undefined) throw new EsmmError('INTERNAL', `plan for ${plan.repo} has no files on disk yet`);
  const tensors = plan.tensors.map(
    (t): TensorRef => ({
      file: join(root, t.file),
      name: t.name,
      shape: [...t.shape],
      dtype: t.dtype,
      format: 'safetensors',
      labels: { ...t.labels, ...plan.labels },
      ...(t.orientation === 'raw' && { orientation: 'raw' as const }),
    }),
  );
  const skipped = plan.skipped.map(
    (s): SkipRecord => ({
      file: join(root, s.file),
      name: s.name,
      shape: [...s.shape],
      dtype: s.dtype,
      labels: { ...plan.labels },
      code: 'UNSUPPORTED',
      reason: s.reason,
    }),
  );
  return { tensors, skipped };
}
