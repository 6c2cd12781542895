import type { LabelRule } from './label-rules.js';

const RESEARCH_PRUNERS = new Set(['wanda', 'sparsegpt']);
const PERM: Record<string, string> = {
  col_perm: 'col',
  columns_permuted: 'col',
  row_perm: 'row',
  rows_permuted: 'row',
};
const GROUP = /^grp_(\d+)$/;
const SPARSITY = /^sparsity_(.+)$/;
const KEY_EQ_VALUE = /^([A-Za-z][\w.-]*)=(.+)$/;
const KEY_UNDERSCORE_VALUE = /^([A-Za-z][A-Za-z0-9-]*)_(.+)$/;
const WEIGHT_EXT = /\.(safetensors|pt|pth|pth\.tar|bin|ckpt)$/;
const PERMUTED_STEM = /^(.+)_permuted$/;

function isResearchDir(c: string): boolean {
  return GROUP.test(c) || SPARSITY.test(c) || Object.hasOwn(PERM, c);
}

/**
 * The research-layout folders a walk root sits inside (for a root of
 * `…/wanda/grp_8/col_perm`: ['wanda', 'grp_8', 'col_perm']), so that pointing a run at a
 * subtree keeps the labels its path already states. Only research folders and the pruner
 * above them are taken: other ancestors (a home folder named `user_x`) never become labels.
 */
export function researchAncestors(absoluteDir: string): string[] {
  const parts = absoluteDir.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  let i = parts.length;
  while (i > 0 && isResearchDir(parts[i - 1])) i--;
  if (i === parts.length) return [];
  return parts.slice(Math.max(0, i - 1));
}

function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(?:<(\w+)>|(\d+))/g, (_, name: string | undefined, num: string | undefined) =>
    name !== undefined ? (m.groups?.[name] ?? '') : (m[Number(num)] ?? ''),
  );
}

/**
 * Labels from a weight file's path relative to the walk root (forward slashes).
 * Directory names: the research layout (`<pruner>/grp_<n>/<col_perm|row_perm>/sparsity_<x>/
 * <layer>_permuted.pt`: pruner is wanda/sparsegpt, or whatever directory sits just above the
 * first grp_/perm/sparsity one), then `key=value` and `key_value` names. A file stem ending
 * in `_permuted` gives `layer`. User rules run last and win.
 */
export function parseLabels(relativePath: string, rules: LabelRule[] = []): Record<string, string> {
  const labels: Record<string, string> = {};
  const parts = relativePath.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  const fileName = parts.pop() ?? '';
  // In the research layout the pruner is the directory just above the first grp_/perm/sparsity one.
  const firstResearch = parts.findIndex(isResearchDir);
  const researchTree = firstResearch >= 0;
  const prunerAt = firstResearch - 1;
  parts.forEach((c, i) => {
    const group = GROUP.exec(c);
    const sparsity = SPARSITY.exec(c);
    const eq = KEY_EQ_VALUE.exec(c);
    if (RESEARCH_PRUNERS.has(c) || (i === prunerAt && !eq)) labels.pruner = c;
    else if (group) labels.group = group[1];
    else if (Object.hasOwn(PERM, c)) labels.perm = PERM[c];
    else if (sparsity) labels.sparsity = sparsity[1];
    else if (eq) labels[eq[1]] = eq[2];
    else {
      const kv = KEY_UNDERSCORE_VALUE.exec(c);
      if (kv) labels[kv[1]] = kv[2];
    }
  });
  const stem = fileName.replace(WEIGHT_EXT, '');
  const permuted = PERMUTED_STEM.exec(stem);
  if (permuted) labels.layer = permuted[1];
  else if (researchTree && stem !== '') labels.layer = stem;
  const path = parts.length ? `${parts.join('/')}/${fileName}` : fileName;
  for (const rule of rules) {
    const m = rule.regex.exec(path);
    if (!m) continue;
    for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) labels[k] = v;
    if (rule.label !== undefined) labels[rule.label] = rule.value !== undefined ? expand(rule.value, m) : (m[1] ?? m[0]);
  }
  return labels;
}
