import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';

import { describeError, errorCode, UsageError } from '../errors.js';
import { printable } from '../printable.js';
import { intFlag } from './common-options.js';
import {
  dtypeBytes,
  fractionsOf,
  loadLabelRules,
  locateTensor,
  scanTensorSparsity,
  ScanPool,
  walkWeights,
  type LabelRule,
  type SkipRecord,
  type TensorRef,
} from '../weights/index.js';

export interface ScanRow {
  file: string;
  name: string;
  shape: number[];
  dtype: string;
  format: 'safetensors' | 'pt';
  labels: Record<string, string>;
  numel: number;
  zeros: number;
  elementSparsity: number;
  blockSparsityLinear: number;
  blockSparsityRaw: number;
}

export interface ScanSummary {
  tensors: number;
  /** Files and tensors the walk could not use, other than those below. */
  skipped: number;
  /** Tensors that are not 2-D (norm weights, biases): expected in any checkpoint, not an error. */
  notMatrix: number;
  /** Tensors the walk listed that could not be read. */
  failed: number;
  /** Bytes of tensor data scanned. */
  bytes: number;
  seconds: number;
}

export interface ScanResult {
  tensors: ScanRow[];
  skipped: SkipRecord[];
  summary: ScanSummary;
}

const optionsSchema = z.object({
  labels: z.string().min(1).optional(),
  json: z.boolean().optional(),
  csv: z.string().min(1).optional(),
  threads: intFlag('--threads', 1, 64).optional(),
  allTensors: z.boolean().optional(),
});
export type ScanOptions = z.input<typeof optionsSchema>;

export interface ScanIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

function humanLine(r: ScanRow): string {
  const labels = labelText(r.labels);
  return [
    ...(labels ? [labels] : []),
    r.file,
    r.name === '' ? '(tensor)' : r.name,
    r.shape.join('×'),
    r.dtype,
    `elem ${pct(r.elementSparsity)}`,
    `block8x32 linear ${pct(r.blockSparsityLinear)} raw ${pct(r.blockSparsityRaw)}`,
  ].join('  ');
}

function csvText(result: ScanResult): string {
  const labelKeys = [...new Set([...result.tensors, ...result.skipped].flatMap((r) => Object.keys(r.labels ?? {})))].sort();
  const header = [
    'status',
    ...labelKeys.map((k) => `label_${k}`),
    'file',
    'tensor',
    'shape',
    'dtype',
    'numel',
    'zeros',
    'element_sparsity',
    'block_sparsity_linear',
    'block_sparsity_raw',
    'code',
    'reason',
  ];
  const rows: (string | number)[][] = [header];
  for (const r of result.tensors) {
    rows.push([
      'ok',
      ...labelKeys.map((k) => r.labels[k] ?? ''),
      r.file,
      r.name,
      r.shape.join('x'),
      r.dtype,
      r.numel,
      r.zeros,
      r.elementSparsity,
      r.blockSparsityLinear,
      r.blockSparsityRaw,
      '',
      '',
    ]);
  }
  for (const s of result.skipped) {
    rows.push([
      'skipped',
      ...labelKeys.map((k) => s.labels?.[k] ?? ''),
      s.file,
      s.name ?? '',
      s.shape?.join('x') ?? '',
      s.dtype ?? '',
      '',
      '',
      '',
      '',
      '',
      s.code,
      s.reason,
    ]);
  }
  return stringify(rows);
}

/** Below this much tensor data, starting worker threads costs more than it saves. */
const POOL_MIN_BYTES = 64 * 1024 * 1024;

async function scanOne(ref: TensorRef, pool: ScanPool | undefined): Promise<ScanRow> {
  const counts = await scanTensorSparsity(await locateTensor(ref), pool ? { pool } : {});
  return {
    file: ref.file,
    name: ref.name,
    shape: ref.shape,
    dtype: ref.dtype,
    format: ref.format,
    labels: ref.labels,
    numel: counts.rows * counts.cols,
    zeros: counts.zeros,
    ...fractionsOf(counts),
  };
}

/**
 * `esmm-bench scan <path>`: element and 8×32 block sparsity of every 2-D float tensor.
 * Returns the exit code: 0 all scanned, 1 something skipped or failed.
 */
export async function scanCommand(path: string, rawOptions: unknown, io: ScanIo): Promise<{ code: number; result: ScanResult }> {
  const parsed = optionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new UsageError(`scan: ${parsed.error.issues[0].message}`);
  const opts = parsed.data;
  try {
    statSync(path);
  } catch {
    throw new UsageError(`no such file or folder: ${path}`);
  }
  let labelRules: LabelRule[] | undefined;
  if (opts.labels) {
    try {
      labelRules = await loadLabelRules(opts.labels);
    } catch (err) {
      throw new UsageError(`--labels ${describeError(err)}`);
    }
  }
  const started = performance.now();
  const walk = await walkWeights({ root: path, ...(labelRules ? { labelRules } : {}), ...(opts.allTensors ? { allTensors: true } : {}) });
  for (const note of walk.notes ?? []) io.err(`note: ${note}`);
  const skipped = [...walk.skipped];
  for (const s of walk.skipped) if (!isNotMatrix(s)) io.err(`skipped ${s.reason}`);
  const tensors: ScanRow[] = [];
  let failed = 0;
  let bytes = 0;
  const refs = walk.tensors;
  const total = refs.reduce((a, r) => a + r.shape[0] * r.shape[1] * (dtypeBytes(r.dtype) ?? 0), 0);
  const threads = opts.threads ?? 1;
  const pool = total >= POOL_MIN_BYTES && threads > 1 ? new ScanPool(threads) : undefined;
  // A few tensors in flight keep every worker busy; results are still reported in walk order.
  const window = pool ? 2 * pool.size : 1;
  const inflight: Promise<ScanRow | { error: unknown }>[] = [];
  const start = (i: number): void => {
    inflight[i] = scanOne(refs[i], pool).catch((error: unknown) => ({ error }));
  };
  try {
    for (let i = 0; i < Math.min(window, refs.length); i++) start(i);
    for (let i = 0; i < refs.length; i++) {
      const got = await inflight[i];
      if (i + window < refs.length) start(i + window);
      const ref = refs[i];
      if ('error' in got) {
        failed++;
        const reason = describeError(got.error);
        skipped.push({ file: ref.file, name: ref.name, shape: ref.shape, dtype: ref.dtype, labels: ref.labels, code: errorCode(got.error), reason });
        io.err(`failed ${reason}`);
      } else {
        tensors.push(got);
        bytes += got.numel * (dtypeBytes(got.dtype) ?? 0);
        if (!opts.json) io.out(humanLine(got));
      }
    }
  } finally {
    await pool?.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const notMatrix = walk.skipped.filter(isNotMatrix).length;
  const summary: ScanSummary = { tensors: tensors.length, skipped: walk.skipped.length - notMatrix, notMatrix, failed, bytes, seconds };
  const result: ScanResult = { tensors, skipped, summary };
  if (opts.csv) await writeFile(opts.csv, csvText(result));
  if (opts.json) {
    io.out(JSON.stringify(result, null, 2));
  } else {
    const rate = seconds > 0 ? ` (${(bytes / 1e6 / seconds).toFixed(0)} MB/s)` : '';
    io.out(
      `scanned ${tensors.length} tensors, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s${rate}; ` +
        `${summary.skipped} skipped, ${notMatrix} not a matrix, ${failed} failed`,
    );
  }
  if (refs.length === 0) io.err(`nothing found: no 2-D float tensor in ${path}`);
  return { code: refs.length === 0 || summary.skipped + failed > 0 ? 1 : 0, result };
}

/** A tensor that is not 2-D (a norm weight, a bias, a step counter): expected in a checkpoint, not an error. */
function isNotMatrix(s: SkipRecord): boolean {
  return s.shape !== undefined && s.shape.length !== 2;
}

const stdio: ScanIo = {
  // JSON output keeps its newlines (JSON.stringify already escapes controls inside strings).
  out: (line) => process.stdout.write(`${printable(line, true)}\n`),
  err: (line) => process.stderr.write(`${printable(line)}\n`),
};

export function registerScan(program: Command, io: ScanIo = stdio): void {
  program
    .command('scan')
    .description('list every 2-D float tensor with its element and 8×32 block sparsity')
    .argument('<path>', 'weight folder, file, or sharded *.safetensors.index.json')
    .option('--labels <rules.json>', 'extra path-label rules (JSON: [{ "regex": "...", "label": "...", "value": "..." }])')
    .option('--json', 'print one JSON document instead of lines')
    .option('--csv <file>', 'also write every tensor and skip as CSV')
    .option('--all-tensors', 'also list optimizer state found in a training checkpoint')
    .option('--threads <n>', `worker threads for scans over ${POOL_MIN_BYTES >> 20} MiB (default 1: this thread only; on the 2-core development machine workers were slower for 1 GB, see docs/scan-throughput.md)`)
    .action(async (path: string, opts: ScanOptions) => {
      const { code } = await scanCommand(path, opts, io);
      process.exitCode = code;
    });
}
