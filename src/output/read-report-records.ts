import { readFileSync } from 'node:fs';

import { EsmmError, UsageError } from '../errors.js';
import { CSV_COLUMNS, SWEEP_COLUMNS } from './columns.js';
import { type CsvRecord, headerMatches, readResultCsv } from './result-csv.js';

/**
 * The rows of any CSV this tool writes, as run rows: a `run`, `hf` or merged CSV as it is; a
 * `sweep` CSV with each point's size, mode and density as its labels and 1 − density as its
 * block sparsity, so one report and one set of plots serve both. An empty file, or one with
 * a header only, is an error: there is nothing to report.
 */
export function readReportRecords(path: string): { kind: 'run' | 'sweep'; records: CsvRecord[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const header = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length).trimEnd();
  // Also a CSV of an earlier version: columns are only ever appended.
  const kind = headerMatches(header, CSV_COLUMNS) ? 'run' : headerMatches(header, SWEEP_COLUMNS) ? 'sweep' : null;
  if (text.trim() === '') throw new EsmmError('NOT_FOUND', `${path}: empty file, nothing to report`, { file: path });
  if (kind === null) throw new UsageError(`${path}: not a CSV written by esmm-bench run, hf, sweep or merge (its header differs)`);
  const rows = readResultCsv(path, kind === 'run' ? CSV_COLUMNS : SWEEP_COLUMNS);
  if (rows.length === 0) throw new EsmmError('NOT_FOUND', `${path}: no rows, nothing to report`, { file: path });
  if (kind === 'run') return { kind, records: rows };
  return {
    kind,
    records: rows.map((r) => {
      const size = `${r.m}x${r.k}x${r.n}`;
      const density = Number(r.density);
      return {
        ...r,
        source_file: 'synthetic',
        tensor: `${size} ${r.mode} density ${r.density}`,
        labels_json: JSON.stringify({ density: r.density, layer: size, mode: r.mode, size }),
        orientation: '',
        block_sparsity: Number.isFinite(density) ? String(1 - density) : '',
      };
    }),
  };
}
