import { existsSync, readFileSync, statSync } from 'node:fs';

import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

import { UsageError } from '../errors.js';
import { AppendFile, dropPartialLastLine } from './append-file.js';
import { CSV_COLUMNS, type ResultRow } from './columns.js';

/** A row as read back from a CSV: every cell a string ('' for empty). */
export type CsvRecord = Record<string, string>;

/** One physical line per record, so a partial last line can always be recognised. */
function cell(value: unknown): string | number {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? value : '';
  return String(value).replace(/[\r\n]+/g, ' ');
}

export function formatRows(rows: object[], columns: readonly string[] = CSV_COLUMNS): string {
  return stringify(
    rows.map((row) => columns.map((c) => cell((row as Record<string, unknown>)[c]))),
    { record_delimiter: '\n' },
  );
}

export function headerLine(columns: readonly string[] = CSV_COLUMNS): string {
  return stringify([[...columns]], { record_delimiter: '\n' });
}

/**
 * Reads a CSV written by this tool; throws a UsageError when it has another schema. With
 * `olderVersions` (reading, never appending) a header that is a leading part of the columns is
 * accepted too: columns are only ever appended, so that is a file of an earlier version.
 */
export function readResultCsv(path: string, columns: readonly string[] = CSV_COLUMNS, options: { olderVersions?: boolean } = {}): CsvRecord[] {
  const text = readFileSync(path, 'utf8');
  if (text.length === 0) return [];
  const header = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length);
  const names = header.split(',');
  const older = options.olderVersions === true && names.length < columns.length && names.every((c, i) => c === columns[i]);
  if (header !== headerLine(columns).trimEnd() && !older) {
    throw new UsageError(`${path}: not an esmm-bench CSV of this kind and version (its header differs)`);
  }
  return parse(text, { columns: true, skip_empty_lines: true }) as CsvRecord[];
}

export interface OpenedCsv {
  writer: ResultCsvWriter;
  /** Rows already in the file (resume), in file order. */
  existing: CsvRecord[];
  /** Bytes of a half-written last line that were dropped. */
  droppedBytes: number;
}

/** An append-only result CSV: rows are written and flushed as they come. */
export class ResultCsvWriter {
  private readonly file: AppendFile;
  constructor(
    readonly path: string,
    private readonly columns: readonly string[] = CSV_COLUMNS,
  ) {
    this.file = new AppendFile(path);
  }
  writeHeader(): void {
    this.file.write(headerLine(this.columns));
  }
  writeRows(rows: ResultRow[] | object[]): void {
    this.file.write(formatRows(rows, this.columns));
  }
  close(): void {
    this.file.close();
  }
}

/**
 * Opens the CSV for a run. Without resume an existing non-empty file is refused (nothing
 * written is ever lost; the caller removes it first when asked to overwrite); with resume
 * its complete rows are returned and new rows are appended after them.
 */
export function openResultCsv(params: { path: string; resume: boolean; columns?: readonly string[] }): OpenedCsv {
  const { path } = params;
  const columns = params.columns ?? CSV_COLUMNS;
  const exists = existsSync(path) && statSync(path).size > 0;
  if (exists && !params.resume) {
    throw new UsageError(`${path} already exists: pass --resume to continue it, or choose another --out`);
  }
  const droppedBytes = exists ? dropPartialLastLine(path) : 0;
  const hasHeader = exists && statSync(path).size > 0;
  const existing = hasHeader ? readResultCsv(path, columns) : [];
  const writer = new ResultCsvWriter(path, columns);
  if (!hasHeader) writer.writeHeader();
  return { writer, existing, droppedBytes };
}
