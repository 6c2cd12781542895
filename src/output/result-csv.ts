import { existsSync, readFileSync, statSync } from 'node:fs';

import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

import { UsageError } from '../errors.js';
import { AppendFile, dropPartialLastLine } from './append-file.js';
import { CSV_COLUMNS, type ResultRow } from './columns.js';

/** A row as read back from a CSV: every cell a string ('' for empty). */
export type CsvRecord = Record<string, string>;

/** A numeric cell of a CsvRecord; null when empty, absent or not a finite number. */
export function cellNumber(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

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

function firstLine(text: string): string {
  return text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length);
}

/** True when `headerText` is the header of `columns` or of an earlier version of them (a leading part). */
export function headerMatches(headerText: string, columns: readonly string[]): boolean {
  const header = headerText.trimEnd().split(',');
  return header.length >= 2 && header.length <= columns.length && header.every((c, i) => c === columns[i]);
}

/**
 * Reads a CSV written by this tool, also by an earlier version (columns are only ever appended,
 * so its header is a prefix of today's; the columns it lacks read as ''). Throws a UsageError
 * when it has another schema.
 */
export function readResultCsv(path: string, columns: readonly string[] = CSV_COLUMNS): CsvRecord[] {
  const text = readFileSync(path, 'utf8');
  if (text.length === 0) return [];
  const header = firstLine(text).split(',');
  if (!headerMatches(firstLine(text), columns)) throw new UsageError(`${path}: not an esmm-bench CSV of this kind (its header differs)`);
  const records = parse(text, { columns: true, skip_empty_lines: true }) as CsvRecord[];
  if (header.length < columns.length) for (const r of records) for (const c of columns.slice(header.length)) r[c] = '';
  return records;
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
  if (hasHeader && firstLine(readFileSync(path, 'utf8')) !== headerLine(columns).trimEnd()) {
    throw new UsageError(`${path} was written by an earlier version of esmm-bench (fewer columns): rows cannot be appended to it; choose another --out`);
  }
  const writer = new ResultCsvWriter(path, columns);
  if (!hasHeader) writer.writeHeader();
  return { writer, existing, droppedBytes };
}
