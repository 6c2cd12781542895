/**
 * Checks that two result CSVs of the same run on different devices (e.g. one GPU and two) hold
 * the same rows in the same order, apart from what timing and the device decide:
 *
 *   node dist/scripts/same-rows.js docs/results/llm7b-h200-1gpu.csv docs/results/llm7b-h200-2gpu.csv
 *
 * Prints the columns it ignores and either the row count that matched or the first row that
 * differs (with each differing column); exit 0 when identical, 1 when not, 2 on bad input.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parse } from 'csv-parse/sync';

import { TIMING_COLUMNS } from '../src/output/columns.js';

/** Columns whose values come from timing, the run or the device, never compared. */
export const IGNORED_COLUMNS = [
  'device',
  'run',
  ...TIMING_COLUMNS,
  // The faster baseline is decided by their times.
  'best_dense_kernel',
] as const;

/**
 * On cuBLAS rows also the algorithm (the fastest of cublasLt's candidates, picked by timing) and
 * so the errors of its output.
 */
export const IGNORED_ON_CUBLAS_ROWS = ['variant', 'rel_err_frobenius', 'max_abs_err_rel'] as const;

/**
 * Error columns are sums over the output that the host reduces on as many threads as the worker
 * has, so their last bits follow the thread count; they compare equal within this relative margin.
 */
export const ERROR_COLUMNS = ['rel_err_frobenius', 'max_abs_err_rel'] as const;
export const ERROR_RELATIVE_MARGIN = 1e-9;

function sameCell(column: string, a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (!(ERROR_COLUMNS as readonly string[]).includes(column) || a === undefined || b === undefined) return false;
  const x = Number(a);
  const y = Number(b);
  if (a === '' || b === '' || !Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= ERROR_RELATIVE_MARGIN * Math.max(Math.abs(x), Math.abs(y));
}

type Row = Record<string, string>;

export interface RowDifference {
  /** 1-based data row (the header is row 0). */
  row: number;
  columns: { column: string; a: string | undefined; b: string | undefined }[];
}

/** The first row where two CSVs differ in a compared column, or null; headers must match. */
export function firstDifference(a: Row[], b: Row[]): RowDifference | null {
  const ignored = new Set<string>(IGNORED_COLUMNS);
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y) return { row: i + 1, columns: [{ column: '(row)', a: x ? 'present' : 'missing', b: y ? 'present' : 'missing' }] };
    const cublas = (x.kernel ?? '').startsWith('cublas');
    const columns = Object.keys({ ...x, ...y })
      .filter((c) => !ignored.has(c) && !(cublas && (IGNORED_ON_CUBLAS_ROWS as readonly string[]).includes(c)))
      .filter((c) => !sameCell(c, x[c], y[c]))
      .map((column) => ({ column, a: x[column], b: y[column] }));
    if (columns.length > 0) return { row: i + 1, columns };
  }
  return null;
}

function readRows(path: string): { header: string[]; rows: Row[] } {
  const text = readFileSync(path, 'utf8');
  const header = (parse(text, { to_line: 1 }) as string[][])[0] ?? [];
  return { header, rows: parse(text, { columns: true }) as Row[] };
}

function main(argv: string[]): number {
  if (argv.length !== 2) {
    process.stderr.write('usage: same-rows.js <a.csv> <b.csv>\n');
    return 2;
  }
  let a: ReturnType<typeof readRows>;
  let b: ReturnType<typeof readRows>;
  try {
    a = readRows(argv[0]!);
    b = readRows(argv[1]!);
  } catch (err) {
    process.stderr.write(`same-rows: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  process.stdout.write(
    `ignored: ${IGNORED_COLUMNS.join(', ')}; on cuBLAS rows also ${IGNORED_ON_CUBLAS_ROWS.join(', ')}; ` +
      `${ERROR_COLUMNS.join(', ')} equal within ${ERROR_RELATIVE_MARGIN} relative\n`,
  );
  if (a.header.join(',') !== b.header.join(',')) {
    process.stdout.write(`DIFFERENT: the headers differ\n  ${argv[0]}: ${a.header.join(',')}\n  ${argv[1]}: ${b.header.join(',')}\n`);
    return 1;
  }
  const diff = firstDifference(a.rows, b.rows);
  if (diff) {
    const row = a.rows[diff.row - 1] ?? b.rows[diff.row - 1]!;
    process.stdout.write(
      `DIFFERENT at row ${diff.row} of ${a.rows.length} / ${b.rows.length} (${row.source_file}#${row.tensor} m=${row.m} ${row.kernel}):\n` +
        diff.columns.map((d) => `  ${d.column}: ${JSON.stringify(d.a)} vs ${JSON.stringify(d.b)}\n`).join(''),
    );
    return 1;
  }
  const devices = (rows: Row[]): string => [...new Set(rows.map((r) => r.device))].sort().join(' + ');
  process.stdout.write(`SAME: ${a.rows.length} rows identical apart from those columns (devices: ${devices(a.rows)} | ${devices(b.rows)})\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
