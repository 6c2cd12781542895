import { FLOAT_DTYPES } from '../weights/dtypes.js';
import type { Orientation } from '../weights/types.js';
import type { Architecture } from './architectures.js';
import type { HeaderMap, PlannedSkip, PlannedTensor } from './plan-types.js';

export interface LinearSelection {
  tensors: PlannedTensor[];
  skipped: PlannedSkip[];
  otherTensors: number;
}

export interface CompiledRule {
  re: RegExp;
  orientation: Orientation;
}

export function compileLinearRules(arch: Architecture): CompiledRule[] {
  return arch.linear.map((r) => ({ re: new RegExp(r.pattern), orientation: r.orientation ?? arch.orientation }));
}

/** The first rule naming `name` a linear layer: its orientation and the labels its named groups capture. */
export function matchLinearRule(rules: CompiledRule[], name: string): { orientation: Orientation; labels: Record<string, string> } | undefined {
  for (const rule of rules) {
    const m = rule.re.exec(name);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) labels[k] = v;
    return { orientation: rule.orientation, labels };
  }
  return undefined;
}

/** Splits the tensors of a checkpoint (file → header) into linear layers, unusable matches, and the rest. */
export function selectLinearTensors(headers: Record<string, HeaderMap>, arch: Architecture): LinearSelection {
  const rules = compileLinearRules(arch);
  const tensors: PlannedTensor[] = [];
  const skipped: PlannedSkip[] = [];
  let otherTensors = 0;
  for (const [file, header] of Object.entries(headers)) {
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const match = matchLinearRule(rules, name);
      if (!match) {
        otherTensors++;
        continue;
      }
      const { orientation, labels } = match;
      const base = { name, file, shape: [...entry.shape], dtype: entry.dtype };
      if (entry.shape.length !== 2) skipped.push({ ...base, reason: `not 2-D (shape [${entry.shape.join(', ')}])` });
      else if (!FLOAT_DTYPES.has(entry.dtype)) skipped.push({ ...base, reason: `dtype ${entry.dtype} is not a float type (quantized?)` });
      else tensors.push({ ...base, orientation, labels });
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
