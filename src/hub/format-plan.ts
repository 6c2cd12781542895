import { formatBytes } from './download-progress.js';
import type { ModelPlan } from './plan-types.js';

/** The plan as a few human lines: what will be benchmarked, from which files, and the download size. */
export function formatPlan(plan: ModelPlan): string {
  const lines: string[] = [];
  const commit = plan.commit && plan.commit !== plan.revision ? ` -> ${plan.commit}` : '';
  lines.push(`model     ${plan.repo}@${plan.revision}${commit} (${plan.source}${plan.root ? `: ${plan.root}` : ''})`);
  lines.push(`rules     ${plan.architecture} from ${plan.rules}; weights stored as ${plan.orientation === 'raw' ? '[in, out] (orientation raw)' : '[out, in] (orientation linear)'}`);
  const files = plan.files.filter((f) => f.linearTensors > 0).length;
  const left = plan.filteredOut > 0 ? ` (${plan.filteredOut} more left out by --filter/--exclude)` : '';
  lines.push(`tensors   ${plan.tensors.length} linear layers in ${files} file(s)${left}; ${plan.otherTensors} other tensors ignored`);
  const groups = new Map<string, { count: number; shape: string; dtype: string; orientation: string }>();
  for (const t of plan.tensors) {
    const key = `${t.labels['module'] ?? t.name}|${t.shape.join('x')}|${t.dtype}|${t.orientation}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { count: 1, shape: `[${t.shape.join(', ')}]`, dtype: t.dtype, orientation: t.orientation });
  }
  const width = Math.max(0, ...[...groups.keys()].map((k) => k.split('|')[0]!.length));
  for (const [key, g] of groups) {
    lines.push(`  ${key.split('|')[0]!.padEnd(width)}  ${String(g.count).padStart(4)} x ${g.shape} ${g.dtype} ${g.orientation}`);
  }
  lines.push('files');
  const pw = Math.max(0, ...plan.files.map((f) => f.path.length));
  for (const f of plan.files) {
    const state = f.cached === undefined ? '' : f.cached ? '  cached' : '  to fetch';
    const size = f.size === undefined ? '?' : formatBytes(f.size);
    lines.push(`  ${f.path.padEnd(pw)}  ${size.padStart(9)}  ${String(f.linearTensors).padStart(4)} linear${state}`);
  }
  if (plan.source === 'hub') lines.push(`download  ${formatBytes(plan.downloadBytes)}`);
  for (const w of plan.warnings) lines.push(`warning   ${w}`);
  return lines.join('\n') + '\n';
}
