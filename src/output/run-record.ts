import { performance } from 'node:perf_hooks';

import { describeError } from '../errors.js';
import type { NativeBinding } from '../native/types.js';
import { writeFileAtomic } from '../patterns/pattern-file.js';
import { acquireCsvLock } from './acquire-csv-lock.js';
import { AppendFile, dropPartialLastLine } from './append-file.js';
import { prepareOutputPath } from './prepare-output-path.js';
import { removeRunOutputs } from './remove-run-outputs.js';
import { type CsvRecord, type ResultCsvWriter, openResultCsv } from './result-csv.js';
import { type NvmlReading, nextRunNumber, samplesPath, sidecarPath, toolRecord } from './run-metadata.js';

/**
 * Everything one invocation writes beside its CSV: the lock, the run number, the rows, the
 * samples file and the JSON run record (sidecar). Opened before the first row, finished
 * after the last; the sidecar is written at the start (endedAt null) and again at the end.
 */
export interface RunRecord {
  csvPath: string;
  run: number;
  sidecarPath: string;
  samplesFile: string;
  writer: ResultCsvWriter;
  /** Rows already in the CSV (resume, or earlier runs of an appending sweep). */
  existing: CsvRecord[];
  droppedBytes: number;
  samples: AppendFile;
  startedAt: string;
  /** ms since the record was opened. */
  elapsedMs(): number;
  /** Writes the sidecar: the shared fields plus `body`. */
  writeSidecar(body: Record<string, unknown>, ended: boolean, nvml: { before: NvmlReading[] | null; after: NvmlReading[] | null }): Promise<void>;
  /** Closes the CSV and samples file and releases the lock. */
  close(): void;
}

/** Peak resident set size of this process so far, bytes. */
export function peakRssBytes(): number {
  // maxRSS is in kilobytes.
  return process.resourceUsage().maxRSS * 1024;
}

export function openRunRecord(params: {
  out: string;
  /** Continue the rows already in the CSV (run --resume, or a sweep that appends a new run). */
  resume: boolean;
  overwrite?: boolean;
  columns?: readonly string[];
  native: NativeBinding;
  argv: string[];
}): RunRecord {
  const csvPath = prepareOutputPath(params.out, { flag: '--out', kind: 'file' });
  const release = acquireCsvLock(csvPath);
  try {
    if (params.overwrite) removeRunOutputs(csvPath);
    const opened = openResultCsv({ path: csvPath, resume: params.resume, ...(params.columns ? { columns: params.columns } : {}) });
    const maxRun = opened.existing.reduce((mx, r) => Math.max(mx, Number(r.run) || 0), 0);
    const run = Math.max(nextRunNumber(csvPath), maxRun + 1);
    const samplesFile = samplesPath(csvPath);
    dropPartialLastLine(samplesFile);
    const samples = new AppendFile(samplesFile, false);
    const wall0 = performance.now();
    const startedAt = new Date().toISOString();
    const sidecar = sidecarPath(csvPath, run);
    return {
      csvPath,
      run,
      sidecarPath: sidecar,
      samplesFile,
      writer: opened.writer,
      existing: opened.existing,
      droppedBytes: opened.droppedBytes,
      samples,
      startedAt,
      elapsedMs: () => performance.now() - wall0,
      async writeSidecar(body, ended, nvml) {
        let info: unknown = null;
        try {
          info = params.native.info();
        } catch (err) {
          info = { error: describeError(err) };
        }
        const record = {
          tool: toolRecord((info as { buildCommit?: string } | null)?.buildCommit),
          ...('kind' in body ? { kind: body.kind } : {}),
          run,
          csv: csvPath,
          samplesFile,
          argv: params.argv,
          startedAt,
          endedAt: ended ? new Date().toISOString() : null,
          wallMs: performance.now() - wall0,
          ...body,
          native: info,
          nvml,
          peakRssBytes: peakRssBytes(),
        };
        await writeFileAtomic(sidecar, JSON.stringify(record, null, 2));
      },
      close() {
        try {
          opened.writer.close();
          samples.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}
