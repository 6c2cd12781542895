import { denseBaselineIds } from '../bench/kernel-roles.js';
import { kernelRegistry } from '../native/kernel-registry.js';
import { type CsvRecord, cellNumber } from './result-csv.js';


/** A row's labels without the layer, as `key=value, …` (the group every layer of one model shares). */
function groupOf(r: CsvRecord): string {
  let labels: Record<string, string> = {};
  try {
    labels = JSON.parse(r.labels_json || '{}') as Record<string, string>;
  } catch {
    // An unreadable labels cell groups with the unlabelled rows.
  }
  const parts = Object.entries(labels)
    .filter(([k]) => k !== 'layer')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return parts.join(', ') || '(no labels)';
}

const MIB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MIB).toFixed(2);
const pct = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–');

/**
 * Report sections for the memory and payback columns: B's storage (dense, ESMM, 32×32 BSR)
 * totalled per label group over distinct tensors, and per M the calls that repay the one-off
 * B-pattern computation of the whole run. Empty when the CSV has no such columns.
 */
export function memoryPaybackReport(records: CsvRecord[]): string[] {
  const tensors = new Map<string, { group: string; dense: number; esmm: number; bsr: number; patternMs: number | null }>();
  for (const r of records) {
    const dense = cellNumber(r.b_dense_bytes);
    const esmm = cellNumber(r.b_esmm_bytes);
    const bsr = cellNumber(r.b_bsr32_bytes);
    if (dense === null || esmm === null || bsr === null) continue;
    const key = JSON.stringify([r.source_file, r.tensor, r.orientation]);
    if (!tensors.has(key)) tensors.set(key, { group: groupOf(r), dense, esmm, bsr, patternMs: cellNumber(r.b_pattern_ms) });
  }
  if (tensors.size === 0) return [];

  const lines: string[] = ['', '## Memory of B per label group (distinct tensors)', ''];
  lines.push('| group | tensors | dense MiB | ESMM MiB | ESMM / dense | BSR 32×32 MiB | BSR / dense |', '|---|---:|---:|---:|---:|---:|---:|');
  const groups = new Map<string, { count: number; dense: number; esmm: number; bsr: number }>();
  for (const t of tensors.values()) {
    const g = groups.get(t.group) ?? { count: 0, dense: 0, esmm: 0, bsr: 0 };
    g.count++;
    g.dense += t.dense;
    g.esmm += t.esmm;
    g.bsr += t.bsr;
    groups.set(t.group, g);
  }
  const total = { count: 0, dense: 0, esmm: 0, bsr: 0 };
  for (const [name, g] of [...groups].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    lines.push(`| ${name} | ${g.count} | ${mib(g.dense)} | ${mib(g.esmm)} | ${pct(g.esmm, g.dense)} | ${mib(g.bsr)} | ${pct(g.bsr, g.dense)} |`);
    total.count += g.count;
    total.dense += g.dense;
    total.esmm += g.esmm;
    total.bsr += g.bsr;
  }
  if (groups.size > 1) {
    lines.push(`| all | ${total.count} | ${mib(total.dense)} | ${mib(total.esmm)} | ${pct(total.esmm, total.dense)} | ${mib(total.bsr)} | ${pct(total.bsr, total.dense)} |`);
  }

  // Per M: the patterns of every tensor with an esmm row are computed once; the run saves
  // (best dense baseline − ESMM total) per call of every such tensor.
  const best = new Map<string, number>();
  const baselines = denseBaselineIds(kernelRegistry());
  for (const r of records) {
    const ms = cellNumber(r.compute_ms_median);
    if (r.status !== 'ok' || ms === null || !baselines.has(r.kernel)) continue;
    const key = JSON.stringify([r.source_file, r.tensor, r.orientation, r.m, r.backend]);
    best.set(key, Math.min(best.get(key) ?? Infinity, ms));
  }
  const perM = new Map<number, { tensors: number; patternMs: number; savingMs: number }>();
  for (const r of records) {
    const m = cellNumber(r.m);
    const totalMs = cellNumber(r.total_ms);
    const patternMs = cellNumber(r.b_pattern_ms);
    const base = best.get(JSON.stringify([r.source_file, r.tensor, r.orientation, r.m, r.backend]));
    if (r.kernel !== 'esmm' || r.status !== 'ok' || m === null || totalMs === null || patternMs === null || base === undefined) continue;
    const p = perM.get(m) ?? { tensors: 0, patternMs: 0, savingMs: 0 };
    p.tensors++;
    p.patternMs += patternMs;
    p.savingMs += base - totalMs;
    perM.set(m, p);
  }
  if (perM.size > 0) {
    lines.push('', '## Preprocessing payback', '');
    for (const [m, p] of [...perM].sort(([a], [b]) => a - b)) {
      const head = `M = ${m}: computing the B patterns of ${p.tensors} tensors took ${p.patternMs.toFixed(2)} ms`;
      lines.push(
        p.savingMs > 0
          ? `- ${head}; one call of each saves ${p.savingMs.toFixed(4)} ms against the best dense baseline, so the run's patterns are repaid after ${Math.ceil(p.patternMs / p.savingMs)} calls.`
          : `- ${head}; ESMM is not faster than the best dense baseline over these tensors (${p.savingMs.toFixed(4)} ms per call), so the patterns are never repaid.`,
      );
    }
  }
  return lines;
}
