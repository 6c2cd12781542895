import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { TensorRef } from '../weights/types.js';
import { architectureForConfig, type Architecture, type ModelConfigJson } from './architectures.js';
import { compileLinearRules, matchLinearRule } from './select-linear-tensors.js';

/**
 * For `run` over a folder in HF layout (config.json beside the safetensors): tensors the
 * architecture's rules name as linear layers get its labels (`arch`, `layer`, `module`) and,
 * where the weights are stored [in, out] (GPT-2's Conv1D), orientation `raw`, so a plain `run`
 * treats them as `hf --local` does. Other tensors pass unchanged. Without a config.json, or
 * with an architecture no rule knows, nothing changes.
 */
export function applyArchitecture(root: string, tensors: TensorRef[]): { tensors: TensorRef[]; architecture?: Architecture } {
  const configPath = join(root, 'config.json');
  if (!existsSync(configPath) || !statSync(root).isDirectory()) return { tensors };
  let config: ModelConfigJson;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as ModelConfigJson;
  } catch {
    return { tensors };
  }
  const architecture = architectureForConfig(config);
  if (!architecture) return { tensors };
  const rules = compileLinearRules(architecture);
  const out = tensors.map((t) => {
    const match = matchLinearRule(rules, t.name);
    if (!match) return t;
    const labels = { ...t.labels, arch: architecture.id, ...match.labels };
    return { ...t, labels, ...(match.orientation === 'raw' ? { orientation: 'raw' as const } : {}) };
  });
  return { tensors: out, architecture };
}
