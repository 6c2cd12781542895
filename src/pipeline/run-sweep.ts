import { performance } from 'node:perf_hooks';

import { UsageError, describeError, errorCode } from '../errors.js';
import { loadNative } from '../native/index.js';
import type { NativeBinding, SyntheticMode } from '../native/types.js';
import { SWEEP_COLUMNS, type SweepRow } from '../output/columns.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { failureReason } from '../output/failure-reason.js';
import { acquireCsvLock } from '../output/acquire-csv-lock.js';
import { AppendFile, dropPartialLastLine } from '../output/append-file.js';
import { openResultCsv } from '../output/result-csv.js';
import { nextRunNumber, toolRecord, queryNvidiaSmi, samplesPath, sidecarPath } from '../output/run-metadata.js';
import { writeFileAtomic } from '../patterns/pattern-file.js';
import { SAMPLING, mapKernel, parseKernelList } from '../bench/plan.js';
import { callKernels as withBaselines, kernelRoles } from '../bench/kernel-roles.js';
import { measureKernel } from '../output/result-rows.js';

export interface SweepSize {
  m: number;
  k: number;
  n: number;
}

export interface SweepParams {
  sizes: SweepSize[];
  densities: number[];
  modes: SyntheticMode[];
  kernels: string[];
  backend: 'cpu' | 'cuda';
  device?: number;
  runs: number;
  warmup: number;
  l2: 'cold' | 'hot';
  seed: number;
  out: string;
  argv: string[];
}

export interface SweepSummary {
  rows: SweepRow[];
  csvPath: string;
  sidecarPath: string;
  run: number;
  failed: number;
  /** Printable table: one line per (size, mode, density). */
  table: string;
}

/** `4096` → 4096³; `MxKxN` → A M×K, B K×N. */
export function parseSizes(list: string): SweepSize[] {
  return list.split(',').map((s) => {
    const parts = s.trim().toLowerCase().split('x').map(Number);
    if (!(parts.length === 1 || parts.length === 3) || parts.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new UsageError(`--sizes: '${s}' is neither N nor MxKxN with positive integers`);
    }
    const [m, k = m, n = m] = parts;
    return { m, k, n };
  });
}

export function parseDensities(list: string): number[] {
  return list.split(',').map((s) => {
    const d = Number(s.trim());
    if (!Number.isFinite(d) || d < 0 || d > 1) throw new UsageError(`--densities: '${s}' is not a number in [0, 1]`);
    return d;
  });
}

/** Synthetic block-pattern sweep through the native benchmark (issue: ESMM vs cuBLAS at given densities). */
export async function runSweep(
  params: SweepParams,
  deps: { native?: NativeBinding; nvidiaSmi?: typeof queryNvidiaSmi; log?: (line: string) => void } = {},
): Promise<SweepSummary> {
  const native = deps.native ?? loadNative();
  const log = deps.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  const nvidiaSmi = deps.nvidiaSmi ?? queryNvidiaSmi;
  // Usage errors before anything is touched on disk.
  parseKernelList(params.kernels);
  const csvPath = prepareOutputPath(params.out, { flag: '--out', kind: 'file' });
  const releaseLock = acquireCsvLock(csvPath);
  try {
    return await sweepLocked(params, native, log, nvidiaSmi, csvPath);
  } finally {
    releaseLock();
  }
}

async function sweepLocked(
  params: SweepParams,
  native: NativeBinding,
  log: (line: string) => void,
  nvidiaSmi: typeof queryNvidiaSmi,
  csvPath: string,
): Promise<SweepSummary> {
  const requested = parseKernelList(params.kernels);
  const backend = params.backend;
  const roles = kernelRoles(native.info().registry, backend);
  const mapped = requested.map((k) => mapKernel(k, backend));
  const runnable = [...new Set(mapped.filter((k) => !('skip' in k)).map((k) => k.kernel))];
  const callKernels = withBaselines(roles, runnable);
  // A sweep never resumes, it appends its rows as a new run: earlier runs' rows stay.
  const opened = openResultCsv({ path: csvPath, resume: true, columns: SWEEP_COLUMNS });
  const maxRun = opened.existing.reduce((mx, r) => Math.max(mx, Number(r.run) || 0), 0);
  const run = Math.max(nextRunNumber(csvPath), maxRun + 1);
  const sidecar = sidecarPath(csvPath, run);
  dropPartialLastLine(samplesPath(csvPath));
  const samples = new AppendFile(samplesPath(csvPath), false);
  const startedAt = new Date().toISOString();
  const wall0 = performance.now();
  const nvmlBefore = backend === 'cuda' ? await nvidiaSmi() : null;
  const deviceName = backend === 'cuda' ? (native.devices().find((d) => d.index === (params.device ?? 0))?.name ?? 'cuda') : 'cpu';

  const all: SweepRow[] = [];
  const tableLines: string[] = [];
  // The headline speedup is against the faster dense baseline; the one against SGEMM stands beside it.
  const header =
    `${'size (MxKxN)'.padEnd(20)} ${'mode'.padEnd(7)} ${'density'.padStart(7)} ${'esmm ms'.padStart(10)} ` +
    roles.baselines.map((b) => `${(b + ' ms').padStart(14)} `).join('') +
    `${'vs best'.padStart(8)} ${'w/ A-pat'.padStart(8)} ${'vs SGEMM'.padStart(8)}`;
  tableLines.push(header);
  log(header);
  try {
    for (const size of params.sizes) {
      for (const mode of params.modes) {
        for (const density of params.densities) {
          const base = {
            m: size.m,
            k: size.k,
            n: size.n,
            mode,
            density,
            backend,
            device: deviceName,
            runs: params.runs,
            warmup: params.warmup,
            l2: params.l2,
            seed: params.seed,
            run,
          };
          const rows: SweepRow[] = [];
          const baselineMs = new Map<string, number>();
          const blank = (kernel: string, status: string, reason: string | null): SweepRow => {
            const row = Object.fromEntries(SWEEP_COLUMNS.map((c) => [c, null])) as SweepRow;
            Object.assign(row, base, { kernel, status, reason });
            return row;
          };
          for (const u of mapped) if ('skip' in u) rows.push(blank(u.kernel, 'skipped', u.skip));
          try {
            const result = await native.benchmark({
              backend,
              ...(params.device !== undefined ? { device: params.device } : {}),
              m: size.m,
              k: size.k,
              n: size.n,
              seed: params.seed,
              synthetic: { mode, density },
              kernels: callKernels,
              warmup: params.warmup,
              runs: params.runs,
              l2: params.l2,
              ...SAMPLING[backend],
            });
            const byId = new Map(result.kernels.map((k) => [k.id, k]));
            for (const b of roles.baselines) {
              const ms = measureKernel(b, result, roles, size).fields.compute_ms_median;
              if (typeof ms === 'number') baselineMs.set(b, ms);
            }
            for (const id of runnable) {
              const kr = byId.get(id);
              const { failure, code, fields } = measureKernel(id, result, roles, size);
              const where = `synthetic ${size.m}x${size.k}x${size.n} ${mode} density ${density}`;
              const row = blank(id, failure ? 'failed' : 'ok', failure && failureReason(code ?? 'INTERNAL', where, failure));
              Object.assign(row, fields);
              row.device = result.device || deviceName;
              rows.push(row);
              samples.write(
                JSON.stringify({
                  run,
                  ...size,
                  mode,
                  density,
                  kernel: id,
                  samples_ms: kr?.time?.samples ?? [],
                  a_pattern_samples_ms: id === 'esmm' ? result.aPatterns.samples : null,
                }) + '\n',
              );
            }
          } catch (err) {
            for (const id of runnable) rows.push(blank(id, 'failed', failureReason(errorCode(err), `synthetic ${size.m}x${size.k}x${size.n} ${mode} density ${density}`, describeError(err))));
          }
          opened.writer.writeRows(rows);
          all.push(...rows);
          const esmm = rows.find((r) => r.kernel === 'esmm');
          const f = (v: string | number | null | undefined, d: number): string => (typeof v === 'number' ? v.toFixed(d) : '-');
          const line =
            `${`${size.m}x${size.k}x${size.n}`.padEnd(20)} ${mode.padEnd(7)} ${density.toFixed(3).padStart(7)} ` +
            `${f(esmm?.compute_ms_median, 4).padStart(10)} ` +
            roles.baselines.map((b) => `${f(baselineMs.get(b), 4).padStart(14)} `).join('') +
            `${f(esmm?.speedup_best_dense_compute, 2).padStart(8)} ${f(esmm?.speedup_best_dense_total, 2).padStart(8)} ` +
            `${f(esmm?.speedup_compute, 2).padStart(8)}`;
          tableLines.push(line);
          log(line);
        }
      }
    }
  } finally {
    opened.writer.close();
    samples.close();
  }
  const nvmlAfter = backend === 'cuda' ? await nvidiaSmi() : null;
  let info: unknown;
  try {
    info = native.info();
  } catch (err) {
    info = { error: describeError(err) };
  }
  await writeFileAtomic(
    sidecar,
    JSON.stringify(
      {
        tool: toolRecord((info as { buildCommit?: string } | null)?.buildCommit),
        kind: 'sweep',
        run,
        csv: csvPath,
        samplesFile: samplesPath(csvPath),
        argv: params.argv,
        startedAt,
        endedAt: new Date().toISOString(),
        wallMs: performance.now() - wall0,
        params: { ...params, argv: undefined, kernelsRun: callKernels, baselines: roles.baselines },
        native: info,
        devices: backend === 'cuda' ? native.devices() : [],
        nvml: { before: nvmlBefore, after: nvmlAfter },
      },
      null,
      2,
    ),
  );
  return {
    rows: all,
    csvPath,
    sidecarPath: sidecar,
    run,
    failed: all.filter((r) => r.status !== 'ok').length,
    table: tableLines.join('\n'),
  };
}
