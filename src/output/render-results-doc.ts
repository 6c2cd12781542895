import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { buildReport } from './build-report.js';
import { CSV_COLUMNS, SWEEP_COLUMNS } from './columns.js';
import { type CsvRecord, cellNumber, readResultCsv } from './result-csv.js';

/**
 * Result tables in markdown are rendered from the committed result CSVs, never typed by hand:
 * a block between
 *
 *     <!-- results: <kind> <csv path from the repository root> -->
 *     <!-- /results -->
 *
 * is replaced by the table of that CSV, with a caption naming the card, the date and the exact
 * command from the CSV's run record. Kinds: `sweep` (one line per size × mode × density of a
 * sweep CSV) and `groups` (the per-label-group summary of a run CSV, as `report` prints it).
 */
const BLOCK = /(<!-- results: (\S+) (\S+) -->\n)([\s\S]*?)(<!-- \/results -->)/g;

const ms = (v: string | undefined): string => (cellNumber(v) === null ? '—' : cellNumber(v)!.toFixed(cellNumber(v)! < 0.1 ? 4 : 3));
const times = (v: number | null): string => (v === null ? '—' : `${v.toFixed(2)}×`);

interface RunRecord {
  argv?: string[];
  startedAt?: string;
  devices?: { index?: number; name?: string }[];
  native?: { cuda?: { driverVersion?: string }; cublas?: { version?: string } };
  nvml?: { before?: { driver_version?: string }[] | null };
  params?: { backend?: string; devices?: number[] };
}

/** "one NVIDIA H200", or "2 × NVIDIA H200" for a run over several (`--devices`). */
function deviceWords(record: RunRecord): string {
  if (record.params?.backend === 'cpu') return 'the CPU backend (CPU timings, not GPU numbers)';
  const used = record.params?.devices;
  const cards = used && used.length > 0 ? (record.devices ?? []).filter((d) => used.includes(d.index ?? -1)) : (record.devices ?? []).slice(0, 1);
  const name = cards[0]?.name ?? 'unknown GPU';
  return cards.length > 1 ? `${cards.length} × ${name}` : `one ${name}`;
}

/** The last run's record of a CSV (`<csv>.json`, or `<csv>.run-<n>.json` for later runs). */
function lastRunRecord(csvPath: string): RunRecord | null {
  let path: string | null = existsSync(`${csvPath}.json`) ? `${csvPath}.json` : null;
  for (let n = 2; existsSync(`${csvPath}.run-${n}.json`); n++) path = `${csvPath}.run-${n}.json`;
  return path ? (JSON.parse(readFileSync(path, 'utf8')) as RunRecord) : null;
}

/** "One NVIDIA H200 (driver …, cuBLAS …), 2026-11-30, `esmm-bench sweep …`" from the run record. */
function caption(csvRel: string, record: RunRecord | null): string {
  if (!record) return `From \`${csvRel}\` (no run record beside it).`;
  const device = deviceWords(record);
  const driver = record.nvml?.before?.[0]?.driver_version;
  const cublas = record.native?.cublas?.version;
  const extras = [driver ? `driver ${driver}` : null, cublas ? `cuBLAS ${cublas}` : null].filter(Boolean).join(', ');
  const date = record.startedAt?.slice(0, 10) ?? 'unknown date';
  const command = record.argv ? `esmm-bench ${record.argv.slice(2).join(' ')}` : 'unknown command';
  return `From \`${csvRel}\`: ${device}${extras ? ` (${extras})` : ''}, ${date}, \`${command}\`.`;
}

/** One line per size × mode × density of the sweep's last run: every kernel's time and ESMM's speedups. */
function sweepTable(records: CsvRecord[]): string[] {
  const lastRun = Math.max(...records.map((r) => cellNumber(r.run) ?? 0));
  const rows = records.filter((r) => cellNumber(r.run) === lastRun);
  const points = new Map<string, CsvRecord[]>();
  for (const r of rows) {
    const key = [r.m, r.k, r.n, r.mode, r.density].join('|');
    points.set(key, [...(points.get(key) ?? []), r]);
  }
  const fair = rows.some((r) => cellNumber(r.speedup_best_dense_compute) !== null);
  const out = fair
    ? [
        '| size (M×K×N) | mode | density | ESMM ms | cuBLAS SGEMM ms | dense-tf32x3 ms | ESMM vs best dense | with A patterns | ESMM vs SGEMM | k density | largest stdev_rel |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ]
    : ['| size (M×K×N) | mode | density | ESMM ms | cuBLAS SGEMM ms | ESMM vs SGEMM | with A patterns | largest stdev_rel |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const group of points.values()) {
    const of = (kernel: string): CsvRecord | undefined => group.find((r) => r.kernel === kernel && r.status === 'ok');
    const esmm = of('esmm');
    const first = group[0];
    const size = `${first.m}×${first.k}×${first.n}`;
    const noise = Math.max(...group.map((r) => cellNumber(r.stdev_rel) ?? 0));
    const noiseCell = `${(noise * 100).toFixed(1)} %${group.some((r) => r.noisy === 'true') ? ' (noisy)' : ''}`;
    const cells = fair
      ? [
          size,
          first.mode,
          first.density,
          esmm ? ms(esmm.compute_ms_median) : 'failed',
          ms(of('cublas')?.compute_ms_median),
          ms(of('dense-tf32x3')?.compute_ms_median),
          `**${times(cellNumber(esmm?.speedup_best_dense_compute))}**`,
          times(cellNumber(esmm?.speedup_best_dense_total)),
          times(cellNumber(esmm?.speedup_compute)),
          cellNumber(esmm?.k_density)?.toFixed(3) ?? '—',
          noiseCell,
        ]
      : [
          size,
          first.mode,
          first.density,
          esmm ? ms(esmm.compute_ms_median) : 'failed',
          ms(of('cublas')?.compute_ms_median),
          times(cellNumber(esmm?.speedup_compute)),
          times(cellNumber(esmm?.speedup_total)),
          noiseCell,
        ];
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out;
}

/** The per-label-group summary `report` writes, compact: ESMM rows only. */
function groupsTable(records: CsvRecord[]): string[] {
  const { groups } = buildReport(records, '');
  const fair = records.some((r) => cellNumber(r.speedup_best_dense_compute) !== null);
  const labelKeys = groups.length > 0 ? Object.keys(groups[0].labels) : [];
  const head = [...labelKeys, 'M', 'layers', fair ? 'ESMM vs best dense (median, min–max)' : 'ESMM vs SGEMM (median, min–max)'];
  if (fair) head.push('ESMM vs SGEMM (median)', 'k density (median)');
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < labelKeys.length ? '---' : '---:')).join('|')}|`];
  for (const g of groups) {
    if (g.kernel !== 'esmm') continue;
    const cells = [
      ...labelKeys.map((k) => g.labels[k]),
      String(g.m),
      String(g.count),
      `${times(g.compute.median)} (${g.compute.min.toFixed(2)}–${g.compute.max.toFixed(2)})${g.noisy > 0 ? `, ${g.noisy} noisy` : ''}`,
    ];
    if (fair) cells.push(times(g.sgemm), g.kDensity === null ? '—' : g.kDensity.toFixed(3));
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out;
}

/** The text with every results block rendered from its CSV under `root`. */
export function renderResultsDoc(text: string, root: string): string {
  return text.replace(BLOCK, (_all, open: string, kind: string, csvRel: string, _old: string, close: string) => {
    const csvPath = join(root, csvRel);
    let table: string[];
    if (kind === 'sweep') table = sweepTable(readResultCsv(csvPath, SWEEP_COLUMNS));
    else if (kind === 'groups') table = groupsTable(readResultCsv(csvPath, CSV_COLUMNS));
    else throw new Error(`results block of unknown kind '${kind}' (known: sweep, groups)`);
    return `${open}${caption(csvRel, lastRunRecord(csvPath))}\n\n${table.join('\n')}\n${close}`;
  });
}
