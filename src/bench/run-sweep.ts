import { UsageError } from '../errors.js';
import { loadNative } from '../native/index.js';
import type { NativeBinding, SyntheticMode } from '../native/types.js';
import { SWEEP_COLUMNS, type SweepRow } from '../output/columns.js';
import { queryNvidiaSmi } from '../output/run-metadata.js';
import { openRunRecord } from '../output/run-record.js';
import { executePlan } from './execute-plan.js';
import { callKernels, kernelRoles } from './kernel-roles.js';
import { planSyntheticPoints } from './plan-points.js';
import type { StageTimes, TimingParams } from './types.js';

export interface SweepSize {
  m: number;
  k: number;
  n: number;
}

export interface SweepParams extends TimingParams {
  sizes: SweepSize[];
  densities: number[];
  modes: SyntheticMode[];
  backend: 'cpu' | 'cuda';
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
  const { backend } = params;
  // Usage errors before anything is touched on disk.
  const plan = planSyntheticPoints({ ...params, backend, roles: kernelRoles(native.info().registry, backend) });
  const { roles } = plan;
  // A sweep never resumes, it appends its rows as a new run: earlier runs' rows stay.
  const record = openRunRecord({ out: params.out, resume: true, columns: SWEEP_COLUMNS, native, argv: params.argv });
  try {
    record.existing.length = 0;
    const deviceName = backend === 'cuda' ? (native.devices().find((d) => d.index === (params.device ?? 0))?.name ?? 'cuda') : 'cpu';
    const nvmlBefore = backend === 'cuda' ? await nvidiaSmi() : null;
    const all: SweepRow[] = [];
    const tableLines: string[] = [];
    // The headline speedup is against the faster dense baseline; the one against SGEMM stands beside it.
    const header =
      `${'size (MxKxN)'.padEnd(20)} ${'mode'.padEnd(7)} ${'density'.padStart(7)} ${'esmm ms'.padStart(10)} ` +
      roles.baselines.map((b) => `${(b + ' ms').padStart(14)} `).join('') +
      `${'vs best'.padStart(8)} ${'w/ A-pat'.padStart(8)} ${'vs SGEMM'.padStart(8)}`;
    tableLines.push(header);
    log(header);
    const stage: StageTimes = { load_ms: 0, convert_ms: 0, pattern_ms: 0, native_ms: 0, write_ms: 0, hash_ms: 0 };
    const counts = await executePlan({
      plan,
      native,
      record,
      cfg: { orientation: 'raw', backend, device: deviceName, runs: params.runs, warmup: params.warmup, l2: params.l2, seed: params.seed, run: record.run },
      ...(params.device !== undefined ? { device: params.device } : {}),
      runs: params.runs,
      warmup: params.warmup,
      l2: params.l2,
      seed: params.seed,
      done: new Set(),
      readTensor: () => Promise.reject(new Error('a sweep reads no tensors')),
      stage,
      fileShas: {},
      onRows: (source, _label, written, baselineMs) => {
        if (source.kind !== 'synthetic') return;
        const rows = written as SweepRow[];
        all.push(...rows);
        const esmm = rows.find((r) => r.kernel === 'esmm');
        const f = (v: string | number | null | undefined, d: number): string => (typeof v === 'number' ? v.toFixed(d) : '-');
        const line =
          `${`${source.m}x${source.k}x${source.n}`.padEnd(20)} ${source.mode.padEnd(7)} ${source.density.toFixed(3).padStart(7)} ` +
          `${f(esmm?.compute_ms_median, 4).padStart(10)} ` +
          roles.baselines.map((b) => `${f(baselineMs?.get(b), 4).padStart(14)} `).join('') +
          `${f(esmm?.speedup_best_dense_compute, 2).padStart(8)} ${f(esmm?.speedup_best_dense_total, 2).padStart(8)} ` +
          `${f(esmm?.speedup_compute, 2).padStart(8)}`;
        tableLines.push(line);
        log(line);
      },
    });
    const nvmlAfter = backend === 'cuda' ? await nvidiaSmi() : null;
    await record.writeSidecar(
      {
        kind: 'sweep',
        params: { ...params, argv: undefined, kernelsRun: callKernels(roles, plan.runnable), baselines: roles.baselines },
        devices: backend === 'cuda' ? native.devices() : [],
        stageMs: stage,
        summary: counts,
      },
      true,
      { before: nvmlBefore, after: nvmlAfter },
    );
    return {
      rows: all,
      csvPath: record.csvPath,
      sidecarPath: record.sidecarPath,
      run: record.run,
      failed: all.filter((r) => r.status !== 'ok').length,
      table: tableLines.join('\n'),
    };
  } finally {
    record.close();
  }
}
