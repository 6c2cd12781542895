import type { CsvRecord } from './result-csv.js';

/** Label keys shown first, in this order; any others follow alphabetically. */
const RESEARCH_LABELS = ['pruner', 'group', 'perm', 'sparsity'];

export interface ReportGroup {
  labels: Record<string, string>;
  kernel: string;
  m: number;
  count: number;
  compute: { median: number; min: number; max: number };
  total: { median: number; min: number; max: number };
}

export interface Report {
  markdown: string;
  groups: ReportGroup[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

function labelsOf(r: CsvRecord): Record<string, string> {
  try {
    const parsed = JSON.parse(r.labels_json || '{}') as Record<string, string>;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

function num(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

const fmt = (x: number): string => x.toFixed(2);

/** Numbers by value (0.5 < 0.75 < 0.9), anything else in natural order (grp_8 < grp_16). */
function compareLabels(x: string, y: string): number {
  const nx = Number(x);
  const ny = Number(y);
  if (x !== '' && y !== '' && Number.isFinite(nx) && Number.isFinite(ny)) return nx - ny;
  return x.localeCompare(y, 'en', { numeric: true });
}

/**
 * The markdown summary of a result CSV: per label group (every label but the layer), kernel
 * and M, the count and median/min/max speedup of compute and total time against the
 * baseline row of the same tensor and M.
 */
export function buildReport(records: CsvRecord[], title: string): Report {
  const counts = { ok: 0, failed: 0, skipped: 0 };
  for (const r of records) if (r.status === 'ok' || r.status === 'failed' || r.status === 'skipped') counts[r.status]++;
  const backends = [...new Set(records.map((r) => r.backend).filter((b) => b))].sort();
  const devices = [...new Set(records.map((r) => r.device).filter((d) => d))].sort();
  const baselineName = backends.includes('cuda') && !backends.includes('cpu') ? 'cuBLAS SGEMM' : backends.includes('cpu') && !backends.includes('cuda') ? 'the CPU float32 reference GEMM' : 'the baseline of each backend (cuBLAS SGEMM on cuda, the CPU reference on cpu)';
  const baselineIds = new Set(['cublas', 'reference']);

  const measured = records.filter(
    (r) => r.status === 'ok' && !baselineIds.has(r.kernel) && num(r.speedup_compute) !== null && num(r.speedup_total) !== null,
  );
  const keys = new Set<string>();
  for (const r of measured) for (const k of Object.keys(labelsOf(r))) if (k !== 'layer') keys.add(k);
  const labelKeys = [
    ...RESEARCH_LABELS.filter((k) => keys.has(k)),
    ...[...keys].filter((k) => !RESEARCH_LABELS.includes(k)).sort(),
  ];

  // Rows of another orientation or seed measure something else: never averaged together, and
  // shown as columns when a CSV holds more than one.
  const settingKeys = (['orientation', 'seed'] as const).filter((c) => new Set(measured.map((r) => r[c] ?? '')).size > 1);
  const groups = new Map<string, { labels: Record<string, string>; kernel: string; m: number; compute: number[]; total: number[] }>();
  for (const r of measured) {
    const all = labelsOf(r);
    const labels = Object.fromEntries([
      ...labelKeys.map((k) => [k, all[k] ?? '']),
      ...settingKeys.map((c) => [c, r[c] ?? '']),
    ]) as Record<string, string>;
    const m = num(r.m) ?? 0;
    const key = JSON.stringify([labelKeys.map((k) => labels[k]), r.kernel, m, r.backend, r.orientation ?? '', r.seed ?? '']);
    let g = groups.get(key);
    if (!g) {
      g = { labels, kernel: r.kernel, m, compute: [], total: [] };
      groups.set(key, g);
    }
    g.compute.push(num(r.speedup_compute)!);
    g.total.push(num(r.speedup_total)!);
  }
  const shownKeys = [...labelKeys, ...settingKeys];
  const ordered = [...groups.values()].sort((a, b) => {
    for (const k of shownKeys) {
      const c = compareLabels(a.labels[k], b.labels[k]);
      if (c !== 0) return c;
    }
    return a.kernel.localeCompare(b.kernel) || a.m - b.m;
  });
  const result: ReportGroup[] = ordered.map((g) => ({
    labels: g.labels,
    kernel: g.kernel,
    m: g.m,
    count: g.compute.length,
    compute: stats(g.compute),
    total: stats(g.total),
  }));

  const lines: string[] = [];
  lines.push(`# esmm-bench report: ${title}`, '');
  lines.push(`${records.length} rows: ${counts.ok} ok, ${counts.failed} failed, ${counts.skipped} skipped.`);
  lines.push(`Backend: ${backends.join(', ') || 'none'}; device: ${devices.join(', ') || 'none'}.`);
  if (backends.includes('cpu')) lines.push('CPU rows are CPU timings (reference GEMM vs CPU ESMM), not GPU numbers.');
  lines.push('');
  lines.push(`## Speedup vs ${baselineName}, per label group`, '');
  if (result.length === 0) {
    lines.push('No ok rows with a speedup.');
  } else {
    lines.push(
      `| ${[...shownKeys, 'kernel', 'm', 'count', 'compute median', 'compute min', 'compute max', 'total median', 'total min', 'total max'].join(' | ')} |`,
    );
    lines.push(`|${[...shownKeys, 'kernel'].map(() => '---').concat(Array(8).fill('---:')).join('|')}|`);
    for (const g of result) {
      lines.push(
        `| ${[
          ...shownKeys.map((k) => g.labels[k]),
          g.kernel,
          String(g.m),
          String(g.count),
          fmt(g.compute.median),
          fmt(g.compute.min),
          fmt(g.compute.max),
          fmt(g.total.median),
          fmt(g.total.min),
          fmt(g.total.max),
        ].join(' | ')} |`,
      );
    }
  }
  const notOk = records.filter((r) => r.status !== 'ok');
  if (notOk.length > 0) {
    lines.push('', '## Rows not ok', '');
    lines.push('| status | file | tensor | m | kernel | reason |', '|---|---|---|---:|---|---|');
    for (const r of notOk) {
      lines.push(`| ${[r.status, r.source_file, r.tensor, r.m, r.kernel, (r.reason ?? '').replace(/\|/g, '\\|')].join(' | ')} |`);
    }
  }
  return { markdown: lines.join('\n') + '\n', groups: result };
}
