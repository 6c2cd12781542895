import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../patterns/pattern-file.js';
import { acquireCsvLock } from './acquire-csv-lock.js';
import { prepareOutputPath } from './prepare-output-path.js';
import { CSV_COLUMNS } from './columns.js';
import { removeRunOutputs } from './remove-run-outputs.js';
import { type CsvRecord, formatRows, headerLine, readResultCsv } from './result-csv.js';
import { nextRunNumber, readSamplesText, samplesPath, sidecarPath, toolRecord } from './run-metadata.js';

/** Settings every part of one study must share (the run record's `params`). */
const SETTINGS = ['ms', 'kernels', 'orientation', 'backend', 'runs', 'warmup', 'l2', 'seed', 'filter', 'exclude', 'aTensors', 'labelRules'] as const;

/** The fields that identify a point; a merged CSV holds each once. */
const POINT_FIELDS = ['source_file', 'tensor', 'm', 'kernel', 'orientation', 'backend', 'l2', 'seed', 'a_source'] as const;

export interface MergeSummary {
  csvPath: string;
  sidecarPath: string;
  rows: number;
  duplicates: number;
  ok: number;
  failed: number;
  skipped: number;
}

interface Part {
  csv: string;
  rows: CsvRecord[];
  sidecars: { path: string; record: Record<string, unknown> }[];
}

function readPart(path: string): Part {
  const csv = resolve(path);
  if (!existsSync(csv) || !statSync(csv).isFile()) throw new UsageError(`merge: no such CSV: ${path}`);
  const rows = readResultCsv(csv);
  const sidecars: Part['sidecars'] = [];
  for (let run = 1; run < nextRunNumber(csv); run++) {
    const p = sidecarPath(csv, run);
    try {
      sidecars.push({ path: p, record: JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown> });
    } catch (err) {
      throw new UsageError(`merge: ${p}: not a readable run record (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (sidecars.length === 0) throw new UsageError(`merge: ${path}: no run record (${path}.json) beside it`);
  return { csv, rows, sidecars };
}

function settingsOf(record: Record<string, unknown>): Record<string, unknown> {
  const params = (record.params ?? {}) as Record<string, unknown>;
  return Object.fromEntries(SETTINGS.map((k) => [k, params[k] ?? null]));
}

/** The card(s) a part ran on: the device its measured rows name (the backend's own name for it). */
function cardsOf(part: Part): string[] {
  return [...new Set(part.rows.filter((r) => r.status === 'ok').map((r) => r.device ?? '').filter((d) => d !== ''))].sort();
}

/** The first setting in which two run records differ, or null. */
function firstDifference(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  for (const k of SETTINGS) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `${k} (${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])})`;
  return null;
}

/**
 * Merges result CSVs of one study (shards of one run, or runs on several machines) into one:
 * refuses parts whose settings or cards differ unless `allowMixed`, keeps the first row of
 * each point, orders rows as one unsharded run would (by the planned source order the
 * shards' run records carry), merges the samples files and writes one run record that lists
 * every part and its records.
 */
export async function mergeResults(params: { parts: string[]; out: string; allowMixed?: boolean; overwrite?: boolean; argv?: string[] }): Promise<MergeSummary> {
  if (params.parts.length === 0) throw new UsageError('merge: no CSVs given');
  const csvPath = resolve(params.out);
  const parts = params.parts.map(readPart);
  if (parts.some((p) => p.csv === csvPath)) throw new UsageError(`merge: --out ${params.out} is also one of the inputs`);

  if (!params.allowMixed) {
    const first = parts[0];
    const ref = settingsOf(first.sidecars[0].record);
    for (const part of parts) {
      for (const s of part.sidecars) {
        const diff = firstDifference(ref, settingsOf(s.record));
        if (diff) throw new UsageError(`merge: ${first.sidecars[0].path} and ${s.path} differ in ${diff}; pass --allow-mixed to merge them anyway`);
      }
    }
    const cards = [...new Set(parts.flatMap(cardsOf))];
    if (cards.length > 1) throw new UsageError(`merge: the parts ran on different cards (${cards.join(', ')}); pass --allow-mixed to merge them anyway`);
  }

  // Planned order of sources, from any shard's record (all shards of one study plan the same).
  const order = new Map<string, number>();
  for (const part of parts) {
    for (const s of part.sidecars) {
      const keys = ((s.record.shard ?? {}) as { sourceOrder?: string[] }).sourceOrder;
      if (order.size === 0 && Array.isArray(keys)) keys.forEach((k, i) => order.set(k, i));
    }
  }
  const seen = new Set<string>();
  let duplicates = 0;
  const kept: { row: CsvRecord; rank: number; seq: number }[] = [];
  for (const part of parts) {
    for (const row of part.rows) {
      const key = JSON.stringify(POINT_FIELDS.map((f) => row[f] ?? ''));
      if (seen.has(key)) {
        duplicates++;
        continue;
      }
      seen.add(key);
      // A source is a tensor, or one (B, A, M) pair of `run --activations` (plan-points.ts keys).
      const rank =
        order.get(JSON.stringify([row.source_file ?? '', row.tensor ?? '', row.a_source ?? '', [Number(row.m)]])) ??
        order.get(JSON.stringify([row.source_file ?? '', row.tensor ?? ''])) ??
        Number.MAX_SAFE_INTEGER;
      kept.push({ row, rank, seq: kept.length });
    }
  }
  // Stable: within a source, rows keep the order its shard wrote them in.
  kept.sort((a, b) => a.rank - b.rank || a.seq - b.seq);

  // Samples: the first line of each point, parts in the order given.
  const sampleSeen = new Set<string>();
  const sampleLines: string[] = [];
  for (const part of parts) {
    const text = readSamplesText(part.csv);
    if (text === null) continue;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let key: string;
      try {
        const s = JSON.parse(line) as Record<string, unknown>;
        key = JSON.stringify([s.source_file, s.tensor, s.m, s.kernel, s.a_source, s.k, s.n, s.mode, s.density]);
      } catch {
        continue; // a half-written last line of a killed shard
      }
      if (sampleSeen.has(key)) continue;
      sampleSeen.add(key);
      sampleLines.push(line + '\n');
    }
  }

  prepareOutputPath(params.out, { flag: '--out', kind: 'file' });
  const release = acquireCsvLock(csvPath);
  try {
    if (existsSync(csvPath) && statSync(csvPath).size > 0) {
      if (!params.overwrite) throw new UsageError(`merge: ${params.out} already exists: pass --overwrite to replace it`);
    }
    removeRunOutputs(csvPath);
    const counts = { ok: 0, failed: 0, skipped: 0 };
    for (const { row } of kept) if (row.status === 'ok' || row.status === 'failed' || row.status === 'skipped') counts[row.status]++;
    await writeFileAtomic(samplesPath(csvPath), sampleLines.join(''));
    await writeFileAtomic(csvPath, headerLine() + formatRows(kept.map((k) => k.row), CSV_COLUMNS));
    const peaks = parts.flatMap((p) => p.sidecars.map((s) => s.record.peakRssBytes)).filter((v): v is number => typeof v === 'number');
    const sidecar = sidecarPath(csvPath, 1);
    await writeFileAtomic(
      sidecar,
      JSON.stringify(
        {
          // The parts' addon build: a merge runs no kernel itself.
          tool: toolRecord(((parts[0].sidecars[0].record.tool ?? {}) as { addonCommit?: string }).addonCommit),
          kind: 'merge',
          run: 1,
          csv: csvPath,
          samplesFile: samplesPath(csvPath),
          argv: params.argv ?? [],
          createdAt: new Date().toISOString(),
          params: parts[0].sidecars[0].record.params ?? null,
          mixed: params.allowMixed ?? false,
          cards: [...new Set(parts.flatMap(cardsOf))],
          parts: parts.map((p) => ({
            csv: p.csv,
            rows: p.rows.length,
            records: p.sidecars.map((s) => ({
              path: s.path,
              run: s.record.run ?? null,
              shard: s.record.shard ? { index: (s.record.shard as { index?: number }).index, count: (s.record.shard as { count?: number }).count } : null,
              startedAt: s.record.startedAt ?? null,
              endedAt: s.record.endedAt ?? null,
              wallMs: s.record.wallMs ?? null,
              peakRssBytes: s.record.peakRssBytes ?? null,
              devices: s.record.devices ?? null,
              summary: s.record.summary ?? null,
            })),
          })),
          summary: { rows: kept.length, duplicates, ...counts },
          peakRssBytes: peaks.length > 0 ? Math.max(...peaks) : null,
        },
        null,
        2,
      ),
    );
    return { csvPath, sidecarPath: sidecar, rows: kept.length, duplicates, ...counts };
  } finally {
    release();
  }
}
