import { denseBaselineIds } from '../bench/kernel-roles.js';
import { kernelRegistry } from '../native/kernel-registry.js';
import { memoryPaybackReport } from './memory-payback-report.js';
import { type CsvRecord, cellNumber } from './result-csv.js';

/** Label keys shown first, in this order; any others follow alphabetically. */
const RESEARCH_LABELS = ['pruner', 'group', 'perm', 'sparsity'];

export interface ReportGroup {
  labels: Record<string, string>;
  kernel: string;
  m: number;
  count: number;
  /** Speedup against the best dense baseline of each call (against SGEMM for CSVs written before that column). */
  compute: { median: number; min: number; max: number };
  total: { median: number; min: number; max: number };
  /** Median speedup against SGEMM (cuBLAS; the CPU reference on cpu), shown beside the headline. */
  sgemm: number | null;
  /** Median share of k the kernel multiplied (k_density), when the CSV has it. */
  kDensity: number | null;
  /** Rows of the group whose sampling hit the time cap before the noise target. */
  noisy: number;
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
  // CSVs written before the best-dense columns existed carry only the speedup against SGEMM.
  const hasBest = records.some((r) => cellNumber(r.speedup_best_dense_compute) !== null);
  const [computeCol, totalCol] = hasBest ? (['speedup_best_dense_compute', 'speedup_best_dense_total'] as const) : (['speedup_compute', 'speedup_total'] as const);
  const sgemmName = backends.includes('cuda') && !backends.includes('cpu') ? 'cuBLAS SGEMM' : backends.includes('cpu') && !backends.includes('cuda') ? 'the CPU float32 reference GEMM' : 'the SGEMM of each backend (cuBLAS on cuda, the CPU reference on cpu)';
  const baselineName = hasBest
    ? backends.includes('cuda')
      ? 'the faster float32-accurate dense baseline of the same call (cuBLAS SGEMM at its best cublasLt algorithm, or dense-tf32x3)'
      : 'the CPU float32 reference GEMM (the only dense baseline on cpu)'
    : sgemmName;

  const baselines = denseBaselineIds(kernelRegistry());
  const measured = records.filter(
    (r) => r.status === 'ok' && !baselines.has(r.kernel) && cellNumber(r[computeCol]) !== null && cellNumber(r[totalCol]) !== null,
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
  const groups = new Map<
    string,
    { labels: Record<string, string>; kernel: string; m: number; compute: number[]; total: number[]; sgemm: number[]; kDensity: number[]; noisy: number }
  >();
  for (const r of measured) {
    const all = labelsOf(r);
    const labels = Object.fromEntries([
      ...labelKeys.map((k) => [k, all[k] ?? '']),
      ...settingKeys.map((c) => [c, r[c] ?? '']),
    ]) as Record<string, string>;
    const m = cellNumber(r.m) ?? 0;
    const key = JSON.stringify([labelKeys.map((k) => labels[k]), r.kernel, m, r.backend, r.orientation ?? '', r.seed ?? '']);
    let g = groups.get(key);
    if (!g) {
      g = { labels, kernel: r.kernel, m, compute: [], total: [], sgemm: [], kDensity: [], noisy: 0 };
      groups.set(key, g);
    }
    g.compute.push(cellNumber(r[computeCol])!);
    g.total.push(cellNumber(r[totalCol])!);
    const sgemm = cellNumber(r.speedup_compute);
    if (sgemm !== null) g.sgemm.push(sgemm);
    const kd = cellNumber(r.k_density);
    if (kd !== null) g.kDensity.push(kd);
    if (r.noisy === 'true') g.noisy++;
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
    sgemm: g.sgemm.length > 0 ? median(g.sgemm) : null,
    kDensity: g.kDensity.length > 0 ? median(g.kDensity) : null,
    noisy: g.noisy,
  }));
  const anyNoisy = result.some((g) => g.noisy > 0);
  // On cpu the reference GEMM is both SGEMM and the best dense baseline: one column says it.
  const showSgemm = hasBest && backends.includes('cuda');

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
    const head = [...shownKeys, 'kernel', 'm', 'count', 'compute median', 'compute min', 'compute max', 'total median', 'total min', 'total max'];
    if (showSgemm) head.push('vs SGEMM');
    if (hasBest) head.push('k density');
    if (anyNoisy) head.push('noisy');
    lines.push(`| ${head.join(' | ')} |`);
    lines.push(`|${[...shownKeys, 'kernel'].map(() => '---').concat(Array(head.length - shownKeys.length - 1).fill('---:')).join('|')}|`);
    for (const g of result) {
      const cells = [
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
      ];
      if (showSgemm) cells.push(g.sgemm === null ? '' : fmt(g.sgemm));
      if (hasBest) cells.push(g.kDensity === null ? '' : fmt(g.kDensity));
      if (anyNoisy) cells.push(g.noisy > 0 ? `${g.noisy} of ${g.count}` : '');
      lines.push(`| ${cells.join(' | ')} |`);
    }
    if (hasBest) {
      const beside = showSgemm ? ` "vs SGEMM" is the median speedup against ${sgemmName}, shown beside the headline;` : '';
      lines.push('', `Speedups are medians over the group;${beside} "k density" is the median share of k ESMM multiplied.`);
    }
    if (anyNoisy) lines.push('', 'noisy: rows whose sampling reached the time cap before the relative standard deviation met its target; read those groups with care.');
  }
  lines.push(...memoryPaybackReport(records));
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
