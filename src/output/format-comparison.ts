import { stringify } from 'csv-stringify/sync';

import { type ComparedRow, type Comparison, POINT_FIELDS, type RowVerdict } from './compare-results.js';
import { ENVIRONMENT_FIELDS } from './run-environment.js';

const VERDICT_ORDER: RowVerdict[] = ['SLOW', 'FAILED', 'FAST', 'SAME', 'N/A', 'ONLY_BASE', 'ONLY_NEW'];

const pct = (x: number | null, signed = false): string => (x === null ? '' : `${signed && x > 0 ? '+' : ''}${(x * 100).toFixed(2)}%`);
const ms = (x: number | null): string => (x === null ? '' : x.toPrecision(4));

function pointLabel(c: Comparison, r: ComparedRow): string {
  const p = r.point;
  if (c.kind === 'sweep') return `${p.m}×${p.k}×${p.n} ${p.mode} d=${p.density}`;
  return `${p.source}${p.tensor ? '#' + p.tensor : ''} m=${p.m}`;
}

/** One line per environment field: both values, and whether they differ. */
function environmentLines(c: Comparison): string[][] {
  return ENVIRONMENT_FIELDS.map((f) => [
    f,
    c.base.environment[f] ?? '–',
    c.new.environment[f] ?? '–',
    c.environmentDifferences.includes(f) ? 'differs' : '',
  ]);
}

function countsLine(c: Comparison): string {
  return VERDICT_ORDER.filter((v) => c.counts[v] > 0)
    .map((v) => `${c.counts[v]} ${v}`)
    .join(', ');
}

function pad(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  return rows.map((r) => r.map((cell, i) => cell + ' '.repeat(widths[i] - [...cell].length)).join('  ').trimEnd()).join('\n') + '\n';
}

const HEAD = ['point', 'kernel', 'base ms', 'new ms', 'Δ', 'noise base', 'noise new', 'verdict'];

function cells(c: Comparison, r: ComparedRow): string[] {
  return [pointLabel(c, r), r.point.kernel, ms(r.baseMedianMs), ms(r.newMedianMs), pct(r.deltaRel, true), pct(r.noiseBase), pct(r.noiseNew), r.verdict];
}

/** The terminal table: environment of both runs, then one line per point, then the counts. */
export function formatComparisonTable(c: Comparison): string {
  let out = `base: ${c.base.path}\nnew:  ${c.new.path}\n\n`;
  out += pad([['', 'base', 'new', ''], ...environmentLines(c)]);
  if (c.environmentDifferences.length > 0) out += `the runs differ in: ${c.environmentDifferences.join(', ')}\n`;
  out += '\n' + pad([HEAD, ...c.rows.map((r) => cells(c, r))]);
  out += `\n${countsLine(c)} (threshold ${pct(c.threshold)}; a difference counts when |Δ| > max(threshold, noise base, noise new))\n`;
  return out;
}

/** One CSV row per point: its point columns, both medians, Δ, both noises, the verdict and both statuses. */
export function comparisonCsv(c: Comparison): string {
  const fields = POINT_FIELDS[c.kind];
  const head = [...fields, 'base_median_ms', 'new_median_ms', 'delta_rel', 'noise_base', 'noise_new', 'verdict', 'timing', 'base_status', 'new_status'];
  const body = c.rows.map((r) => [
    ...fields.map((f) => r.point[f]),
    r.baseMedianMs ?? '',
    r.newMedianMs ?? '',
    r.deltaRel ?? '',
    r.noiseBase ?? '',
    r.noiseNew ?? '',
    r.verdict,
    r.timing ?? '',
    r.baseStatus ?? '',
    r.newStatus ?? '',
  ]);
  return stringify([head, ...body], { record_delimiter: '\n' });
}

/** The markdown summary: environments, counts, and every point that is not SAME. */
export function comparisonMarkdown(c: Comparison): string {
  const lines: string[] = ['# esmm-bench compare', ''];
  lines.push(`Base \`${c.base.path}\` (run ${c.base.runs.join(', ')}), new \`${c.new.path}\` (run ${c.new.runs.join(', ')}).`, '');
  lines.push('| | base | new | |', '|---|---|---|---|');
  for (const l of environmentLines(c)) lines.push(`| ${l.join(' | ')} |`);
  lines.push('');
  lines.push(c.environmentDifferences.length > 0 ? `The runs differ in: ${c.environmentDifferences.join(', ')}.` : 'The runs share card, driver, CUDA, cuBLAS, clocks and power limit (where recorded).');
  lines.push('');
  lines.push(
    `${c.rows.length} points: ${countsLine(c)}. A difference counts when |Δ median| / base median > max(${pct(c.threshold)}, noise of the base, noise of the new run), noise being each run's relative standard deviation.`,
  );
  const notSame = c.rows.filter((r) => r.verdict !== 'SAME');
  if (notSame.length > 0) {
    lines.push('', `| ${HEAD.join(' | ')} |`, `|---|---|${Array(5).fill('---:').join('|')}|---|`);
    const ordered = [...notSame].sort((a, b) => VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict));
    for (const r of ordered) lines.push(`| ${cells(c, r).map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
