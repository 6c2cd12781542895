import { FLOAT_DTYPES } from '../weights/dtypes.js';
import type { Orientation } from '../weights/types.js';
import type { Architecture } from './architectures.js';
import type { HeaderMap, PlannedSkip, PlannedTensor } from './plan-types.js';

export interface LinearSelection {
  tensors: PlannedTensor[];
  skipped: PlannedSkip[];
  otherTensors: number;
}

interface CompiledRule {
  re: RegExp;
  orientation: Orientation;
}

function compile(arch: Architecture): CompiledRule[] {
  return arch.linear.map((r) => ({ re: new RegExp(r.pattern), orientation: r.orientation ?? arch.orientation }));
}

/** Splits the tensors of a checkpoint (file → header) into linear layers, unusable matches, and the rest. */
export function selectLinearTensors(headers: Record<string, HeaderMap>, arch: Architecture): LinearSelection {
  const rules = compile(arch);
  const tensors: PlannedTensor[] = [];
  const skipped: PlannedSkip[] = [];
  let otherTensors = 0;
  for (const [file, header] of Object.entries(headers)) {
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const rule = rules.find((r) => r.re.test(name));
      if (!rule) {
        otherTensors++;
        continue;
      }
      const m = rule.re.exec(name);
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(m?.groups ?? {})) if (v !== undefined) labels[k] = v;
      const base = { name, file, shape: [...entry.shape], dtype: entry.dtype };
      if (entry.shape.length !== 2) skipped.push({ ...base, reason: `not 2-D (shape [${entry.shape.join(', ')}])` });
      else if (!FLOAT_DTYPES.has(entry.dtype)) skipped.push({ ...base, reason: `dtype ${entry.dtype} is not a float type (quantized?)` });
      else tensors.push({ ...base, orientation: rule.orientation, labels });
    }
  }
  const layerOf = (t: { labels?: Record<string, string> }): number => Number(t.labels?.['layer'] ?? -1);
  tensors.sort((a, b) => layerOf(a) - layerOf(b) || a.name.localeCompare(b.name));
  return { tensors, skipped, otherTensors };
}

/** Compares what was found with a manifest's `expect` list; one message per mismatch. */
export function checkExpectations(
  tensors: PlannedTensor[],
  expect: ReadonlyArray<{ module: string; shape: [number, number]; count: number }>,
): string[] {
  const out: string[] = [];
  for (const e of expect) {
    const found = tensors.filter((t) => t.labels['module'] === e.module);
    const wrong = found.filter((t) => t.shape[0] !== e.shape[0] || t.shape[1] !== e.shape[1]);
    if (found.length !== e.count) out.push(`manifest expects ${e.count} × ${e.module}, found ${found.length}`);
    if (wrong.length > 0) {
      const w = wrong[0]!;
      out.push(`manifest expects ${e.module} of shape [${e.shape.join(', ')}], ${w.name} is [${w.shape.join(', ')}]`);
    }
  }
  return out;
}
