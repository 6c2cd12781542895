import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { TensorRef } from '../weights/types.js';
import { architectureForConfig, type Architecture, type ModelConfigJson } from './architectures.js';

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
  const rules = architecture.linear.map((r) => ({ re: new RegExp(r.pattern), orientation: r.orientation ?? architecture.orientation }));
  const out = tensors.map((t) => {
    for (const rule of rules) {
      const m = rule.re.exec(t.name);
      if (!m) continue;
      const labels: Record<string, string> = { ...t.labels, arch: architecture.id };
      for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) labels[k] = v;
      return { ...t, labels, ...(rule.orientation === 'raw' ? { orientation: 'raw' as const } : {}) };
    }
    return t;
  });
  return { tensors: out, architecture };
}
