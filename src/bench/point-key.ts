import { resolve } from 'node:path';

import type { ResultRow } from '../output/columns.js';
import type { CsvRecord } from '../output/result-csv.js';

/** The fields that identify a point of a weight-tree run (a CSV never holds two rows with one key). */
export interface PointFields {
  file: string;
  tensor: string;
  m: string;
  kernel: string;
  orientation: string;
  backend: string;
  l2: string;
  seed: string;
  aSource: string;
}

/** The identity of a point: a row with the same key is never written twice to one CSV. */
export function pointKey(v: PointFields): string {
  // Resolved, so `run tree` and `run ./tree --resume` from the same folder name the same points.
  return JSON.stringify([resolve(v.file), v.tensor, v.m, v.kernel, v.orientation, v.backend, v.l2, v.seed, v.aSource]);
}

export function recordKey(r: CsvRecord): string {
  return pointKey({
    file: r.source_file ?? '',
    tensor: r.tensor ?? '',
    m: r.m ?? '',
    kernel: r.kernel ?? '',
    orientation: r.orientation ?? '',
    backend: r.backend ?? '',
    l2: r.l2 ?? '',
    seed: r.seed ?? '',
    aSource: r.a_source ?? '',
  });
}

export function rowKey(r: ResultRow): string {
  const s = (v: string | number | null): string => (v === null ? '' : String(v));
  return pointKey({
    file: r.source_file,
    tensor: r.tensor,
    m: s(r.m),
    kernel: s(r.kernel),
    orientation: s(r.orientation),
    backend: s(r.backend),
    l2: s(r.l2),
    seed: s(r.seed),
    aSource: s(r.a_source),
  });
}
