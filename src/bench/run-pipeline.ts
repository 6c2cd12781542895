import cliProgress from 'cli-progress';

import { UsageError } from '../errors.js';
import { loadNative } from '../native/index.js';
import type { NativeBinding } from '../native/types.js';
import { printable } from '../printable.js';
import { type RowConfig } from '../output/result-rows.js';
import { resumeDifferences } from '../output/resume-differences.js';
import { queryNvidiaSmi } from '../output/run-metadata.js';
import { openRunRecord } from '../output/run-record.js';
import { PatternCache, resolveCacheDir } from '../patterns/pattern-cache.js';
import { resolveBackend } from '../patterns/resolve-backend.js';
import { readTensorF32 } from '../weights/index.js';
import { type AnyRow, executePlan, pendingPointCount } from './execute-plan.js';
import { kernelRoles } from './kernel-roles.js';
import { planTreePoints } from './plan-points.js';
import { recordKey } from './point-key.js';
import { shardPlan } from './shard-plan.js';
import { openDeviceWorker } from './device-slot.js';
import type { PipelineDeps, PipelineParams, PipelineSummary, StageTimes } from './types.js';

function validate(params: PipelineParams): void {
  if (params.ms.length === 0 || params.ms.some((m) => !Number.isInteger(m) || m < 1)) {
    throw new UsageError(`--m: token counts must be positive integers, got ${params.ms.join(',')}`);
  }
  if (!Number.isInteger(params.runs) || params.runs < 1) throw new UsageError(`--runs must be ≥ 1, got ${params.runs}`);
  if (!Number.isInteger(params.warmup) || params.warmup < 0) throw new UsageError(`--warmup must be ≥ 0, got ${params.warmup}`);
  if (!Number.isInteger(params.seed)) throw new UsageError(`--seed must be an integer, got ${params.seed}`);
}

/**
 * Benchmarks every selected tensor × M × kernel (of this shard) through the native backend
 * and appends one CSV row per point (DESIGN.md "Contracts", "Timing"): plans the points,
 * opens the run record, executes the plan.
 */
export async function runPipeline(params: PipelineParams, deps: PipelineDeps = {}): Promise<PipelineSummary> {
  validate(params);
  const native: NativeBinding = deps.native ?? loadNative();
  const readTensor = deps.readTensor ?? readTensorF32;
  const nvidiaSmi = deps.nvidiaSmi ?? queryNvidiaSmi;
  const log = deps.log ?? ((line: string) => void process.stderr.write(printable(line) + '\n'));
  const showProgress = params.progress !== false;
  const isTTY = deps.isTTY ?? Boolean(process.stderr.isTTY);

  const backend = resolveBackend(native, params.backend);
  // The registry is read once: every call and every row of the run use these roles.
  const fullPlan = planTreePoints({ ...params, backend, roles: kernelRoles(native.info().registry, backend) });
  const plan = params.shard ? shardPlan(fullPlan, params.shard) : fullPlan;
  const deviceList = backend === 'cuda' ? native.devices() : [];
  if (backend === 'cuda' && !deviceList.some((d) => d.index === (params.device ?? 0))) {
    throw new UsageError(`--device ${params.device ?? 0}: no such CUDA device (found ${deviceList.map((d) => d.index).join(', ') || 'none'})`);
  }
  const deviceName =
    backend === 'cuda' ? (deviceList.find((d) => d.index === (params.device ?? 0))?.name ?? `cuda:${params.device ?? 0}`) : 'cpu';
  const devices = devicesOf(params, backend, deviceList, deps);

  const slots = devices?.map((d) => (deps.openDevice ?? openDeviceWorker)(d.index, d.name));
  const record = openRunRecord({ out: params.out, resume: params.resume, overwrite: params.overwrite ?? false, native, argv: params.argv });
  try {
    if (record.droppedBytes > 0) log(`resume: dropped a half-written last line (${record.droppedBytes} bytes) of ${params.out}`);
    if (params.resume) {
      const diffs = resumeDifferences(record.csvPath, record.existing, {
        seed: params.seed,
        runs: params.runs,
        warmup: params.warmup,
        l2: params.l2,
        orientation: params.orientation,
        kernels: plan.requested,
        backend,
        device: params.device ?? 0,
        labelRules: params.labelRules ?? null,
        shard: `${params.shard?.index ?? 0}/${params.shard?.count ?? 1}`,
      });
      if (diffs.length > 0) {
        throw new UsageError(`--resume ${params.out}: its rows were made with other settings (${diffs.join('; ')}); resume with the same settings or choose another --out`);
      }
    }
    const done = new Set(record.existing.map(recordKey));
    const resumed = record.existing.length;
    // Only keys are kept: the rows themselves are not needed any more.
    record.existing.length = 0;
    const cfg: RowConfig = {
      orientation: params.orientation,
      backend,
      device: deviceName,
      runs: params.runs,
      warmup: params.warmup,
      l2: params.l2,
      seed: params.seed,
      run: record.run,
    };
    const cacheDir = resolveCacheDir({
      ...(params.cacheDir !== undefined ? { cacheDir: params.cacheDir } : {}),
      files: params.tensors.map((t) => t.file),
    });
    const warnings: string[] = [];
    const cache = await PatternCache.open(cacheDir, {
      onWarning: (w) => {
        warnings.push(w);
        log(`warning: ${w}`);
      },
    });
    const stage: StageTimes = { load_ms: 0, convert_ms: 0, pattern_ms: 0, native_ms: 0, write_ms: 0, hash_ms: 0 };
    // --devices: each device's time in benchmark calls (stage.native_ms is their sum).
    const deviceNativeMs: Record<number, number> = {};
    /**
     * The share of the run's device time not spent in benchmark calls: (wall − native_ms) / wall
     * on one device; with several, 1 − Σ native / (devices × wall), so two busy devices do not
     * make it negative.
     */
    const hostFraction = (wallMs: number): number | null => {
      if (wallMs <= 0) return null;
      const lanes = slots && slots.length > 0 ? slots.length : 1;
      return (lanes * wallMs - stage.native_ms) / (lanes * wallMs);
    };
    const fileShas: Record<string, string> = {};
    let counts = { rows: 0, ok: 0, failed: 0, skipped: 0, notMatrix: 0 };
    let total = 0;
    let finished = 0;

    const sidecarBody = (): Record<string, unknown> => {
      const wallMs = record.elapsedMs();
      return {
        params: {
          ms: params.ms,
          kernels: plan.requested,
          kernelsRun: plan.runnable,
          baselines: plan.roles.baselines,
          orientation: params.orientation,
          backendRequested: params.backend,
          backend,
          device: params.device ?? 0,
          devices: devices?.map((d) => d.index) ?? null,
          runs: params.runs,
          warmup: params.warmup,
          l2: params.l2,
          seed: params.seed,
          filter: params.filter ?? [],
          exclude: params.exclude ?? [],
          resume: params.resume,
          labelRules: params.labelRules ?? null,
          cacheDir: cache.dir,
          aTensors: params.aTensors?.length ?? 0,
        },
        // The partition this run executed: every shard of one study plans the same sources.
        shard: {
          index: params.shard?.index ?? 0,
          count: params.shard?.count ?? 1,
          sourcesPlanned: fullPlan.sources.length,
          sourcesRun: plan.sources.length,
          sourceOrder: params.shard ? fullPlan.sources.map((s) => s.key) : undefined,
        },
        devices: deviceList,
        stageMs: stage,
        ...(slots ? { deviceNativeMs } : {}),
        // Busy time of each stage overlaps the benchmark (lookahead); what the run waited for
        // beyond the native calls is the host-side overhead (per device, with --devices).
        hostOverheadMs: (slots && slots.length > 0 ? slots.length : 1) * wallMs - stage.native_ms,
        hostOverheadFraction: hostFraction(wallMs),
        summary: { ...counts, resumed },
        // Rows written so far (of the points this run has to do): the record is rewritten while
        // the run goes on, so a run stopped from outside still says how far it got.
        progress: { rows: finished, of: total },
        tensorFiles: fileShas,
        warnings,
      };
    };

    const common = { plan, l2: params.l2, seed: params.seed, done };
    total = pendingPointCount(common);
    const nvmlBefore = backend === 'cuda' ? await nvidiaSmi() : null;
    await record.writeSidecar(sidecarBody(), false, { before: nvmlBefore, after: null });
    // Interim rewrites of the record, one at a time, all done before the final one.
    const recordEveryMs = deps.recordEveryMs ?? 30_000;
    let lastRecord = performance.now();
    let recordWrites: Promise<void> = Promise.resolve();
    const refreshRecord = (): void => {
      if (performance.now() - lastRecord < recordEveryMs) return;
      lastRecord = performance.now();
      recordWrites = recordWrites
        .then(() => record.writeSidecar(sidecarBody(), false, { before: nvmlBefore, after: null }))
        .catch((err) => log(`warning: the run record was not refreshed: ${err instanceof Error ? err.message : String(err)}`));
    };
    const bar =
      showProgress && isTTY
        ? new cliProgress.SingleBar(
            { format: '{bar} {value}/{total} points | ETA {eta_formatted} | {tensor}', etaBuffer: 20, hideCursor: true },
            cliProgress.Presets.shades_classic,
          )
        : null;
    bar?.start(total, 0, { tensor: '' });
    const progress = (source: { kind: string }, label: string, rows: AnyRow[]): void => {
      if (source.kind === 'skip' || rows.length === 0) return;
      finished += rows.length;
      refreshRecord();
      if (bar) {
        // One terminal line: a long path would wrap and break the bar's redraw.
        bar.update(finished, { tensor: printable(label.length > 60 ? '…' + label.slice(-59) : label) });
      } else if (showProgress) {
        const parts = rows.map((r) =>
          r.status === 'ok'
            ? `${r.kernel} ${(r.compute_ms_median as number | null)?.toPrecision(4)} ms${typeof r.speedup_best_dense_compute === 'number' && !plan.roles.baselines.includes(String(r.kernel ?? '')) ? ` (${r.speedup_best_dense_compute.toFixed(2)}× best dense)` : ''}`
            : `${r.kernel} ${r.status}: ${r.reason}`,
        );
        log(`[${finished}/${total}] ${label}: ${parts.join(', ')}`);
      }
    };

    try {
      counts = await executePlan({
        ...common,
        native,
        record,
        cfg,
        ...(params.device !== undefined ? { device: params.device } : {}),
        runs: params.runs,
        warmup: params.warmup,
        cache,
        readTensor,
        stage,
        fileShas,
        onRows: progress,
        ...(slots ? { slots, deviceNativeMs } : {}),
      });
    } finally {
      bar?.stop();
      await cache.saveIndex();
    }

    const nvmlAfter = backend === 'cuda' ? await nvidiaSmi() : null;
    await recordWrites;
    await record.writeSidecar(sidecarBody(), true, { before: nvmlBefore, after: nvmlAfter });
    const wallMs = record.elapsedMs();
    return {
      ...counts,
      resumed,
      csvPath: record.csvPath,
      sidecarPath: record.sidecarPath,
      wallMs,
      run: record.run,
      backend,
      found: params.tensors.length,
      selected: plan.selected,
      stageMs: stage,
      hostOverheadFraction: hostFraction(wallMs) ?? 0,
    };
  } finally {
    record.close();
    await Promise.all((slots ?? []).map((s) => s.close()));
  }
}

/** The devices of `--devices`, checked against those present; undefined for a one-device run. */
function devicesOf(
  params: PipelineParams,
  backend: 'cpu' | 'cuda',
  deviceList: { index: number; name: string }[],
  deps: PipelineDeps,
): { index: number; name: string }[] | undefined {
  if (params.devices === undefined) return undefined;
  if (backend !== 'cuda' && !deps.openDevice) throw new UsageError('--devices needs the cuda backend');
  if (params.devices === 'all') {
    if (deviceList.length === 0) throw new UsageError('--devices all: no CUDA device found');
    return deviceList.map((d) => ({ index: d.index, name: `${d.name} (cuda:${d.index})` }));
  }
  const out: { index: number; name: string }[] = [];
  for (const index of params.devices) {
    const found = deviceList.find((d) => d.index === index);
    if (!found && !deps.openDevice) throw new UsageError(`--devices: no CUDA device ${index} (found ${deviceList.map((d) => d.index).join(', ') || 'none'})`);
    if (out.some((d) => d.index === index)) throw new UsageError(`--devices: device ${index} given twice`);
    // As the addon names it in every result (rows that carry none say the same).
    out.push({ index, name: found ? `${found.name} (cuda:${index})` : `device ${index}` });
  }
  return out;
}
