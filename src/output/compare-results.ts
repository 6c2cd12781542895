import { existsSync, readFileSync } from 'node:fs';

import { parse } from 'csv-parse/sync';

import { BadFileError, UsageError } from '../errors.js';
import { type Verdict, median, noiseVerdict, relativeStdev } from './noise-verdict.js';
import type { CsvRecord } from './result-csv.js';
import { type RunEnvironment, environmentDifferences, runEnvironment } from './run-environment.js';
import { readSamplesText, sidecarPath } from './run-metadata.js';

/** FAST / SLOW / SAME for points measured in both files; FAILED when the new row is not ok but the base row is; N/A when the base row is not ok. */
export type RowVerdict = Verdict | 'FAILED' | 'N/A' | 'ONLY_BASE' | 'ONLY_NEW';

/** The columns that name a point, per kind of CSV (the source is relative to the CSV's common folder). */
export const POINT_FIELDS = {
  run: ['source', 'tensor', 'm', 'k', 'n', 'kernel', 'orientation', 'seed'],
  sweep: ['m', 'k', 'n', 'mode', 'density', 'kernel', 'seed'],
} as const;

export type CsvKind = keyof typeof POINT_FIELDS;

export interface ComparedRow {
  point: Record<string, string>;
  verdict: RowVerdict;
  baseMedianMs: number | null;
  newMedianMs: number | null;
  /** (new − base) / base of the median kernel time. */
  deltaRel: number | null;
  noiseBase: number | null;
  noiseNew: number | null;
  /** 'samples' when both medians and noises come from the samples files, 'csv' when a side fell back to its row. */
  timing: 'samples' | 'csv' | null;
  baseStatus: string | null;
  newStatus: string | null;
}

export interface ComparedSide {
  path: string;
  /** Runs of the CSV the compared rows come from. */
  runs: number[];
  environment: RunEnvironment;
}

export interface Comparison {
  kind: CsvKind;
  threshold: number;
  base: ComparedSide;
  new: ComparedSide;
  /** Environment fields that differ between the two runs (card, driver, cuda, cublas, clocks, powerLimit). */
  environmentDifferences: string[];
  counts: Record<RowVerdict, number>;
  rows: ComparedRow[];
}

interface LoadedRow {
  record: CsvRecord;
  point: Record<string, string>;
  /** The point with the tensor file's sha256 (from the run records) in place of its name; null when unknown or not unique. */
  contentKey: string | null;
}

interface LoadedCsv {
  kind: CsvKind;
  path: string;
  /** Point key → the row (the last run's, when a point was measured more than once). */
  rows: Map<string, LoadedRow>;
  samples: Map<string, number[]>;
}

/** The deepest folder holding every path ('' when they share none), on '/' separators. */
function commonFolder(paths: string[]): string {
  if (paths.length === 0) return '';
  let common = paths[0].includes('/') ? paths[0].slice(0, paths[0].lastIndexOf('/')) : '';
  for (const p of paths) {
    while (common !== '' && !p.startsWith(common + '/')) common = common.includes('/') ? common.slice(0, common.lastIndexOf('/')) : '';
  }
  return common;
}

function sampleKey(kind: CsvKind, v: Record<string, unknown>): string {
  const s = (x: unknown): string => (x === null || x === undefined ? '' : String(x));
  return kind === 'run'
    ? JSON.stringify([s(v.run), s(v.source_file), s(v.tensor), s(v.m), s(v.kernel), s(v.a_source)])
    : JSON.stringify([s(v.run), s(v.m), s(v.k), s(v.n), s(v.mode), s(v.density), s(v.kernel)]);
}

/** source_file → sha256 of that file, from the run records of the CSV, for files whose content no other file shares. */
function uniqueFileShas(path: string, records: CsvRecord[]): Map<string, string> {
  const all = new Map<string, string>();
  for (const run of new Set(records.map((r) => Number(r.run)).filter((n) => Number.isInteger(n) && n >= 1))) {
    try {
      const files = (JSON.parse(readFileSync(sidecarPath(path, run), 'utf8')) as { tensorFiles?: Record<string, unknown> }).tensorFiles ?? {};
      for (const [file, sha] of Object.entries(files)) if (typeof sha === 'string') all.set(file, sha);
    } catch {
      // No readable record for that run: its rows are matched by name only.
    }
  }
  const uses = new Map<string, number>();
  for (const sha of all.values()) uses.set(sha, (uses.get(sha) ?? 0) + 1);
  return new Map([...all].filter(([, sha]) => uses.get(sha) === 1));
}

function loadCsv(path: string, onlyRun: number | undefined): LoadedCsv {
  if (!existsSync(path)) throw new UsageError(`no such CSV: ${path}`);
  let records: CsvRecord[];
  try {
    records = parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as CsvRecord[];
  } catch (err) {
    throw new BadFileError(path, `not a readable CSV (${(err as Error).message.split('\n')[0]})`);
  }
  const columns = new Set(Object.keys(records[0] ?? {}));
  const kind: CsvKind | null = columns.has('source_file') ? 'run' : columns.has('mode') && columns.has('density') ? 'sweep' : null;
  if (kind === null || !columns.has('kernel') || !columns.has('compute_ms_median')) {
    throw new UsageError(`${path}: not an esmm-bench result or sweep CSV (no rows, or its columns differ)`);
  }
  const folder = kind === 'run' ? commonFolder([...new Set(records.map((r) => r.source_file))]) : '';
  const shas = kind === 'run' ? uniqueFileShas(path, records) : new Map<string, string>();
  const rows = new Map<string, LoadedRow>();
  for (const r of records) {
    if (onlyRun !== undefined && Number(r.run) !== onlyRun) continue;
    if (kind === 'run' && r.kernel === '') continue; // a file skipped while walking: no point to compare
    const point: Record<string, string> = {};
    for (const f of POINT_FIELDS[kind]) {
      point[f] = f === 'source' ? (folder ? r.source_file.slice(folder.length + 1) : r.source_file) : (r[f] ?? '');
    }
    const key = JSON.stringify(POINT_FIELDS[kind].map((f) => point[f]));
    const sha = shas.get(r.source_file);
    const contentKey = sha ? JSON.stringify(POINT_FIELDS[kind].map((f) => (f === 'source' ? sha : point[f]))) : null;
    const old = rows.get(key);
    if (!old || Number(r.run) >= Number(old.record.run)) rows.set(key, { record: r, point, contentKey });
  }
  const samples = new Map<string, number[]>();
  const text = readSamplesText(path);
  if (text !== null) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const v = JSON.parse(line) as Record<string, unknown>;
        if (Array.isArray(v.samples_ms)) samples.set(sampleKey(kind, v), (v.samples_ms as unknown[]).filter((x): x is number => typeof x === 'number'));
      } catch {
        // A half-written last line (an interrupted run): that point falls back to its CSV row.
      }
    }
  }
  return { kind, path, rows, samples };
}

function sideOf(csv: LoadedCsv): ComparedSide {
  const runs = [...new Set([...csv.rows.values()].map((r) => Number(r.record.run)).filter(Number.isFinite))].sort((a, b) => a - b);
  const last = runs[runs.length - 1] ?? 1;
  const sidecar = sidecarPath(csv.path, last);
  let record: unknown = null;
  if (existsSync(sidecar)) {
    try {
      record = JSON.parse(readFileSync(sidecar, 'utf8'));
    } catch {
      throw new BadFileError(sidecar, 'run record is not valid JSON');
    }
  }
  const any = [...csv.rows.values()][0]?.record;
  const fallbackCard = any?.device ? any.device.replace(/ \((cuda:\d+|\d+ threads?)\)$/, '') : null;
  return { path: csv.path, runs, environment: runEnvironment(record ?? (any?.backend === 'cpu' ? { params: { backend: 'cpu' } } : null), fallbackCard) };
}

/** Median and noise of one side's point: from its samples when the samples file has them, else its CSV row. */
function timingOf(csv: LoadedCsv, r: CsvRecord): { medianMs: number; noise: number; fromSamples: boolean } | null {
  const s = csv.samples.get(sampleKey(csv.kind, r));
  if (s && s.length > 0) return { medianMs: median(s), noise: relativeStdev(s), fromSamples: true };
  const med = Number(r.compute_ms_median);
  if (r.compute_ms_median === '' || !Number.isFinite(med)) return null;
  const noise = Number(r.stdev_rel);
  return { medianMs: med, noise: r.stdev_rel !== '' && Number.isFinite(noise) ? noise : 0, fromSamples: false };
}

/**
 * Compares two result CSVs (both `run` CSVs or both `sweep` CSVs) point by point with the
 * noise-aware rule of noiseVerdict, from both runs' samples (the samples file beside each CSV),
 * and names the environment differences of the two runs (from their sidecars).
 */
export function compareResults(p: { base: string; new: string; threshold: number; baseRun?: number; newRun?: number }): Comparison {
  if (!(p.threshold >= 0) || !Number.isFinite(p.threshold)) throw new UsageError(`--threshold must be a fraction ≥ 0, got ${p.threshold}`);
  const base = loadCsv(p.base, p.baseRun);
  const next = loadCsv(p.new, p.newRun);
  if (base.kind !== next.kind) throw new UsageError(`${p.new}: a ${next.kind} CSV cannot be compared with the ${base.kind} CSV ${p.base}`);
  const counts: Record<RowVerdict, number> = { FAST: 0, SLOW: 0, SAME: 0, FAILED: 0, 'N/A': 0, ONLY_BASE: 0, ONLY_NEW: 0 };
  const rows: ComparedRow[] = [];
  const empty = { baseMedianMs: null, newMedianMs: null, deltaRel: null, noiseBase: null, noiseNew: null, timing: null };
  // Points match by name (source relative to each CSV's common folder); those left over match
  // by the content of their tensor file, so a moved or renamed file is still the same point.
  const pairs: [LoadedRow, LoadedRow][] = [];
  const unmatchedBase: LoadedRow[] = [];
  const unmatchedNew = new Map(next.rows);
  for (const [key, b] of base.rows) {
    const n = next.rows.get(key);
    if (n) {
      pairs.push([b, n]);
      unmatchedNew.delete(key);
    } else {
      unmatchedBase.push(b);
    }
  }
  const byContent = new Map<string, string>();
  for (const [key, n] of unmatchedNew) if (n.contentKey !== null) byContent.set(n.contentKey, key);
  for (const b of unmatchedBase) {
    const key = b.contentKey !== null ? byContent.get(b.contentKey) : undefined;
    if (key !== undefined && unmatchedNew.has(key)) {
      pairs.push([b, unmatchedNew.get(key)!]);
      unmatchedNew.delete(key);
    } else {
      rows.push({ point: b.point, verdict: 'ONLY_BASE', ...empty, baseStatus: b.record.status, newStatus: null });
    }
  }
  for (const [b, n] of pairs) {
    const tb = b.record.status === 'ok' ? timingOf(base, b.record) : null;
    const tn = n.record.status === 'ok' ? timingOf(next, n.record) : null;
    const statuses = { baseStatus: b.record.status, newStatus: n.record.status };
    if (!tb || !tn) {
      rows.push({ point: b.point, verdict: tb ? 'FAILED' : 'N/A', ...empty, ...statuses });
      continue;
    }
    const v = noiseVerdict(tb, tn, p.threshold);
    rows.push({
      point: b.point,
      verdict: v.verdict,
      baseMedianMs: v.baseMedianMs,
      newMedianMs: v.newMedianMs,
      deltaRel: v.deltaRel,
      noiseBase: v.noiseBase,
      noiseNew: v.noiseNew,
      timing: tb.fromSamples && tn.fromSamples ? 'samples' : 'csv',
      ...statuses,
    });
  }
  for (const n of unmatchedNew.values()) rows.push({ point: n.point, verdict: 'ONLY_NEW', ...empty, baseStatus: null, newStatus: n.record.status });
  // Base order throughout (a point only in the base where it stood), then the points only in the new file.
  const place = new Map([...base.rows.values()].map((b, i) => [b.point, i]));
  const at = (r: ComparedRow): number => (r.verdict === 'ONLY_NEW' ? Infinity : place.get(r.point)!);
  rows.sort((x, y) => at(x) - at(y));
  for (const r of rows) counts[r.verdict]++;
  const baseSide = sideOf(base);
  const newSide = sideOf(next);
  return {
    kind: base.kind,
    threshold: p.threshold,
    base: baseSide,
    new: newSide,
    environmentDifferences: environmentDifferences(baseSide.environment, newSide.environment),
    counts,
    rows,
  };
}
