import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import cliProgress from 'cli-progress';

import { UsageError, describeError, errorCode } from '../errors.js';
import { loadNative } from '../native/index.js';
import { printable } from '../printable.js';
import type { BenchmarkResult, NativeBinding } from '../native/types.js';
import { type ResultRow } from '../output/columns.js';
import { prepareOutputPath } from '../output/prepare-output-path.js';
import { acquireCsvLock } from '../output/acquire-csv-lock.js';
import { AppendFile, dropPartialLastLine } from '../output/append-file.js';
import { failureReason } from '../output/failure-reason.js';
import { resumeDifferences } from '../output/resume-differences.js';
import { removeRunOutputs } from '../output/remove-run-outputs.js';
import { type CsvRecord, openResultCsv } from '../output/result-csv.js';
import { nextRunNumber, toolRecord, queryNvidiaSmi, samplesPath, sha256File, sidecarPath } from '../output/run-metadata.js';
import { writeFileAtomic } from '../patterns/pattern-file.js';
import { PatternCache, resolveCacheDir } from '../patterns/pattern-cache.js';
import { bMemoryBytes } from '../patterns/b-memory-bytes.js';
import { blockSparsity } from '../patterns/pattern-layout.js';
import { resolveBPatterns } from '../patterns/resolve-b-patterns.js';
import { resolveBackend } from '../patterns/resolve-backend.js';
import { readTensorF32 } from '../weights/index.js';
import type { Orientation, TensorRef } from '../weights/types.js';
import { callKernels, kernelRoles } from '../bench/kernel-roles.js';
import { SAMPLING, compileRegexes, mapKernel, orientedShape, pairATensor, parseKernelList, selectTensor } from '../bench/plan.js';
import { type RowConfig, type TensorFacts, emptyRow, factsOf, rowsFromResult } from '../output/result-rows.js';
import type { PipelineDeps, PipelineParams, PipelineSummary, StageTimes } from './types.js';

/** Codes that mean "this input cannot be benchmarked" (skipped) rather than "benchmarking it failed". */
const SKIP_CODES = new Set(['BAD_FILE', 'UNSAFE_PICKLE', 'UNSUPPORTED', 'NOT_FOUND']);

/** The identity of a point: a row with the same key is never written twice to one CSV. */
function pointKey(v: {
  file: string;
  tensor: string;
  m: string;
  kernel: string;
  orientation: string;
  backend: string;
  l2: string;
  seed: string;
  aSource: string;
}): string {
  // Resolved, so `run tree` and `run ./tree --resume` from the same folder name the same points.
  return JSON.stringify([resolve(v.file), v.tensor, v.m, v.kernel, v.orientation, v.backend, v.l2, v.seed, v.aSource]);
}

function recordKey(r: CsvRecord): string {
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

function rowKey(r: ResultRow): string {
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

interface WorkItem {
  ref: TensorRef;
  orientation: Orientation;
  k: number;
  n: number;
  /** For an A+B pair: the A tensor (its rows are M). */
  aRef?: TensorRef;
  ms: number[];
  aSource: string;
}

function validate(params: PipelineParams): void {
  if (params.ms.length === 0 || params.ms.some((m) => !Number.isInteger(m) || m < 1)) {
    throw new UsageError(`--m: token counts must be positive integers, got ${params.ms.join(',')}`);
  }
  if (!Number.isInteger(params.runs) || params.runs < 1) throw new UsageError(`--runs must be ≥ 1, got ${params.runs}`);
  if (!Number.isInteger(params.warmup) || params.warmup < 0) throw new UsageError(`--warmup must be ≥ 0, got ${params.warmup}`);
  if (!Number.isInteger(params.seed)) throw new UsageError(`--seed must be an integer, got ${params.seed}`);
}

/**
 * Benchmarks every selected tensor × M × kernel through the native backend and appends one
 * CSV row per point (DESIGN.md "Contracts", "Timing"). A tensor that cannot be read or
 * benchmarked becomes rows with status and reason; the run goes on.
 */
export async function runPipeline(params: PipelineParams, deps: PipelineDeps = {}): Promise<PipelineSummary> {
  validate(params);
  const csvPath = prepareOutputPath(params.out, { flag: '--out', kind: 'file' });
  const releaseLock = acquireCsvLock(csvPath);
  try {
    return await benchmarkAll(params, deps);
  } finally {
    releaseLock();
  }
}

async function benchmarkAll(params: PipelineParams, deps: PipelineDeps): Promise<PipelineSummary> {
  const wall0 = performance.now();
  const startedAt = new Date().toISOString();
  const native: NativeBinding = deps.native ?? loadNative();
  const readTensor = deps.readTensor ?? readTensorF32;
  const nvidiaSmi = deps.nvidiaSmi ?? queryNvidiaSmi;
  const log = deps.log ?? ((line: string) => void process.stderr.write(printable(line) + '\n'));
  const showProgress = params.progress !== false;
  const isTTY = deps.isTTY ?? Boolean(process.stderr.isTTY);

  const requested = parseKernelList(params.kernels);
  const backend = resolveBackend(native, params.backend);
  const filters = compileRegexes(params.filter, '--filter');
  const excludes = compileRegexes(params.exclude, '--exclude');
  const mapped = requested.map((k) => mapKernel(k, backend));
  const runnable = [...new Set(mapped.filter((k) => !('skip' in k)).map((k) => k.kernel))];
  const unrunnable = mapped.filter((k): k is { kernel: string; skip: string } => 'skip' in k);
  const roles = kernelRoles(native.info().registry, backend);
  /** Rows of one point come in the order the kernels were asked for. */
  const kernelOrder = mapped.map((k) => k.kernel);
  const deviceList = backend === 'cuda' ? native.devices() : [];
  if (backend === 'cuda' && !deviceList.some((d) => d.index === (params.device ?? 0))) {
    throw new UsageError(`--device ${params.device ?? 0}: no such CUDA device (found ${deviceList.map((d) => d.index).join(', ') || 'none'})`);
  }
  const deviceName =
    backend === 'cuda' ? (deviceList.find((d) => d.index === (params.device ?? 0))?.name ?? `cuda:${params.device ?? 0}`) : 'cpu';

  const csvPath = resolve(params.out);
  if (params.overwrite) removeRunOutputs(csvPath);
  const opened = openResultCsv({ path: csvPath, resume: params.resume });
  if (opened.droppedBytes > 0) log(`resume: dropped a half-written last line (${opened.droppedBytes} bytes) of ${params.out}`);
  if (params.resume) {
    const diffs = resumeDifferences(csvPath, opened.existing, {
      seed: params.seed,
      runs: params.runs,
      warmup: params.warmup,
      l2: params.l2,
      orientation: params.orientation,
      kernels: requested,
      backend,
      device: params.device ?? 0,
      labelRules: params.labelRules ?? null,
    });
    if (diffs.length > 0) {
      opened.writer.close();
      throw new UsageError(`--resume ${params.out}: its rows were made with other settings (${diffs.join('; ')}); resume with the same settings or choose another --out`);
    }
  }
  const done = new Set(opened.existing.map(recordKey));
  const maxRun = opened.existing.reduce((mx, r) => Math.max(mx, Number(r.run) || 0), 0);
  const run = Math.max(nextRunNumber(csvPath), maxRun + 1);
  const sidecar = sidecarPath(csvPath, run);
  const samplesFile = samplesPath(csvPath);
  dropPartialLastLine(samplesFile);
  const samples = new AppendFile(samplesFile, false);

  const cfg: RowConfig = {
    orientation: params.orientation,
    backend,
    device: deviceName,
    runs: params.runs,
    warmup: params.warmup,
    l2: params.l2,
    seed: params.seed,
    run,
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
  const counts = { rows: 0, ok: 0, failed: 0, skipped: 0, notMatrix: 0, resumed: opened.existing.length };
  const fileShas: Record<string, string> = {};

  const writeRows = (rows: ResultRow[]): void => {
    const fresh = rows.filter((r) => !done.has(rowKey(r)));
    if (fresh.length === 0) return;
    const t = performance.now();
    opened.writer.writeRows(fresh);
    stage.write_ms += performance.now() - t;
    for (const r of fresh) {
      done.add(rowKey(r));
      counts.rows++;
      counts[r.status]++;
    }
  };

  const sidecarBody = (endedAt: string | null, nvmlBefore: unknown, nvmlAfter: unknown): string => {
    const wallMs = performance.now() - wall0;
    let info: unknown = null;
    try {
      info = native.info();
    } catch (err) {
      info = { error: describeError(err) };
    }
    return JSON.stringify(
      {
        tool: toolRecord((info as { buildCommit?: string } | null)?.buildCommit),
        run,
        csv: csvPath,
        samplesFile,
        argv: params.argv,
        startedAt,
        endedAt,
        wallMs,
        params: {
          ms: params.ms,
          kernels: requested,
          kernelsRun: runnable,
          baselines: roles.baselines,
          orientation: params.orientation,
          backendRequested: params.backend,
          backend,
          device: params.device ?? 0,
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
        native: info,
        devices: deviceList,
        nvml: { before: nvmlBefore, after: nvmlAfter },
        stageMs: stage,
        // Busy time of each stage overlaps the benchmark (lookahead); what the run waited for
        // beyond the native calls is the host-side overhead.
        hostOverheadMs: wallMs - stage.native_ms,
        hostOverheadFraction: wallMs > 0 ? (wallMs - stage.native_ms) / wallMs : null,
        summary: counts,
        tensorFiles: fileShas,
        warnings,
      },
      null,
      2,
    );
  };

  const nvmlBefore = backend === 'cuda' ? await nvidiaSmi() : null;
  await writeFileAtomic(sidecar, sidecarBody(null, nvmlBefore, null));

  // Found while walking but not benchmarkable: one skipped row each.
  for (const skip of params.skipped ?? []) {
    const t: TensorFacts = {
      file: skip.file,
      name: skip.name ?? '',
      labels: skip.labels ?? {},
      ...(skip.shape ? { shape: skip.shape } : {}),
      ...(skip.dtype ? { dtype: skip.dtype } : {}),
    };
    const before = counts.rows;
    writeRows([emptyRow(t, cfg, { m: null, kernel: null, aSource: null }, 'skipped', `${skip.code}: ${skip.reason}`)]);
    // A norm weight, a bias or a step counter: expected in a checkpoint, counted apart.
    if (counts.rows > before && skip.shape !== undefined && skip.shape.length !== 2) counts.notMatrix++;
  }

  const items: WorkItem[] = [];
  for (const pair of params.pairs ?? []) {
    if (!selectTensor(pair.ref, filters, excludes)) continue;
    const orientation = pair.ref.orientation ?? params.orientation;
    items.push({ ...pair, orientation, ...orientedShape(pair.ref, orientation) });
  }
  for (const ref of params.pairs ? [] : params.tensors) {
    if (!selectTensor(ref, filters, excludes)) continue;
    const orientation = ref.orientation ?? params.orientation;
    const { k, n } = orientedShape(ref, orientation);
    if (params.aTensors) {
      const aRef = pairATensor(ref, k, params.aTensors);
      if (!aRef) {
        writeRows([
          emptyRow({ ...factsOf(ref), k, n }, { ...cfg, orientation }, { m: null, kernel: null, aSource: null }, 'skipped', `no A tensor with K = ${k} in --a-dir`),
        ]);
        continue;
      }
      items.push({ ref, orientation, k, n, aRef, ms: [aRef.shape[0]], aSource: `${aRef.file}#${aRef.name}` });
    } else {
      items.push({ ref, orientation, k, n, ms: params.ms, aSource: 'random' });
    }
  }

  const pendingOf = (item: WorkItem, m: number): string[] =>
    [...runnable, ...unrunnable.map((u) => u.kernel)].filter(
      (kernel) =>
        !done.has(
          pointKey({
            file: item.ref.file,
            tensor: item.ref.name,
            m: String(m),
            kernel,
            orientation: item.orientation,
            backend,
            l2: params.l2,
            seed: String(params.seed),
            aSource: item.aSource,
          }),
        ),
    );
  const total = items.reduce((s, item) => s + item.ms.reduce((t, m) => t + pendingOf(item, m).length, 0), 0);
  let finished = 0;
  const bar =
    showProgress && isTTY
      ? new cliProgress.SingleBar(
          { format: '{bar} {value}/{total} points | ETA {eta_formatted} | {tensor}', etaBuffer: 20, hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
      : null;
  bar?.start(total, 0, { tensor: '' });
  const progress = (label: string, rows: ResultRow[]): void => {
    finished += rows.length;
    if (bar) {
      // One terminal line: a long path would wrap and break the bar's redraw.
      bar.update(finished, { tensor: printable(label.length > 60 ? '…' + label.slice(-59) : label) });
    } else if (showProgress) {
      const parts = rows.map((r) =>
        r.status === 'ok'
          ? `${r.kernel} ${r.compute_ms_median?.toPrecision(4)} ms${r.speedup_best_dense_compute !== null && !roles.baselines.includes(r.kernel ?? '') ? ` (${r.speedup_best_dense_compute.toFixed(2)}× best dense)` : ''}`
          : `${r.kernel} ${r.status}: ${r.reason}`,
      );
      log(`[${finished}/${total}] ${label}: ${parts.join(', ')}`);
    }
  };

  interface Prepared {
    b: Float32Array;
    bPatterns: Uint8Array;
    a?: Float32Array;
    elementSparsity: number;
    blockSparsity: number;
    bPatternMs: number | null;
  }
  /** Everything host-side for one tensor; never rejects (a failure is returned). */
  const prepare = async (item: WorkItem, patternBackend: 'cpu' | 'cuda'): Promise<Prepared | { error: unknown }> => {
    try {
      const resolved = await resolveBPatterns({
        ref: item.ref,
        orientation: item.orientation,
        cache,
        native,
        backend: patternBackend,
        ...(params.device !== undefined ? { device: params.device } : {}),
        readTensor,
        needData: true,
      });
      stage.load_ms += resolved.loadMs;
      stage.convert_ms += resolved.convertMs;
      stage.pattern_ms += resolved.patternMs;
      const { b, zeros } = resolved.oriented!;
      const prepared: Prepared = {
        b,
        bPatterns: resolved.patterns,
        elementSparsity: b.length === 0 ? 0 : zeros / b.length,
        blockSparsity: blockSparsity(resolved.patterns),
        bPatternMs: resolved.computeMs,
      };
      if (item.aRef) {
        const ta = performance.now();
        prepared.a = await readTensor(item.aRef);
        stage.load_ms += performance.now() - ta;
      }
      if (!(item.ref.file in fileShas)) {
        const th = performance.now();
        const key = await cache.fileKey(item.ref.file);
        let sha = cache.lookupFileSha(key);
        if (!sha) {
          sha = await sha256File(item.ref.file);
          cache.rememberFileSha(key, sha);
        }
        fileShas[item.ref.file] = sha;
        stage.hash_ms += performance.now() - th;
      }
      return prepared;
    } catch (error) {
      return { error };
    }
  };

  const work = items.filter((item) => item.ms.some((m) => pendingOf(item, m).length > 0));
  try {
    // On cuda, one tensor of lookahead: the next tensor is read, converted and patterned while
    // the GPU benchmarks this one. Its missing patterns are computed on the CPU (same
    // semantics) so nothing else runs on the GPU during a timed kernel. On cpu the host work
    // would compete with the timed CPU kernels, so tensors are prepared one after another.
    const lookahead = backend === 'cuda';
    let next: Promise<Prepared | { error: unknown }> | null = null;
    for (let i = 0; i < work.length; i++) {
      const item = work[i];
      const prepared = await (next ?? prepare(item, backend));
      next = lookahead && i + 1 < work.length ? prepare(work[i + 1], 'cpu') : null;
      const pendingMs = item.ms.filter((m) => pendingOf(item, m).length > 0);
      const label = `${item.ref.file}${item.ref.name ? '#' + item.ref.name : ''}`;
      const facts: TensorFacts = { ...factsOf(item.ref), k: item.k, n: item.n };
      const itemCfg = { ...cfg, orientation: item.orientation };
      if ('error' in prepared) {
        const err = prepared.error;
        const status = SKIP_CODES.has(errorCode(err)) ? 'skipped' : 'failed';
        const reason = `${errorCode(err)}: ${describeError(err)}`;
        for (const m of pendingMs) {
          const rows = pendingOf(item, m).map((kernel) => emptyRow(facts, itemCfg, { m, kernel, aSource: item.aSource }, status, reason));
          writeRows(rows);
          progress(label, rows);
        }
        continue;
      }
      const { b, bPatterns, a } = prepared;
      facts.elementSparsity = prepared.elementSparsity;
      facts.blockSparsity = prepared.blockSparsity;
      facts.bMemory = bMemoryBytes(bPatterns, item.k, item.n);
      facts.bPatternMs = prepared.bPatternMs;

      for (const m of pendingMs) {
        const wanted = pendingOf(item, m);
        const rows: ResultRow[] = [];
        for (const u of unrunnable) {
          if (wanted.includes(u.kernel)) rows.push(emptyRow(facts, itemCfg, { m, kernel: u.kernel, aSource: item.aSource }, 'skipped', u.skip));
        }
        const toRun = runnable.filter((kernel) => wanted.includes(kernel));
        if (toRun.length > 0) {
          // The dense baselines always run in the same call, so every row gets its speedups.
          const t = performance.now();
          try {
            const result: BenchmarkResult = await native.benchmark({
              backend,
              ...(params.device !== undefined ? { device: params.device } : {}),
              m,
              k: item.k,
              n: item.n,
              b,
              bPatterns,
              ...(a ? { a } : {}),
              seed: params.seed,
              kernels: callKernels(roles, toRun),
              warmup: params.warmup,
              runs: params.runs,
              l2: params.l2,
              ...SAMPLING[backend],
            });
            stage.native_ms += performance.now() - t;
            const made = rowsFromResult(facts, itemCfg, m, item.aSource, result, toRun, roles);
            rows.push(...made);
            const tw = performance.now();
            samples.write(
              result.kernels
                .filter((kr) => toRun.includes(kr.id))
                .map((kr) =>
                  JSON.stringify({
                    run,
                    source_file: item.ref.file,
                    tensor: item.ref.name,
                    m,
                    kernel: kr.id,
                    a_source: item.aSource,
                    samples_ms: kr.time?.samples ?? [],
                    a_pattern_samples_ms: kr.id === 'esmm' ? result.aPatterns.samples : null,
                  }) + '\n',
                )
                .join(''),
            );
            stage.write_ms += performance.now() - tw;
          } catch (err) {
            stage.native_ms += performance.now() - t;
            const status = SKIP_CODES.has(errorCode(err)) ? 'skipped' : 'failed';
            const reason = failureReason(errorCode(err), label, describeError(err));
            for (const kernel of toRun) rows.push(emptyRow(facts, itemCfg, { m, kernel, aSource: item.aSource }, status, reason));
          }
        }
        rows.sort((x, y) => kernelOrder.indexOf(x.kernel ?? '') - kernelOrder.indexOf(y.kernel ?? ''));
        writeRows(rows);
        progress(`${label} m=${m}`, rows);
      }
    }
  } finally {
    bar?.stop();
    opened.writer.close();
    samples.close();
    await cache.saveIndex();
  }

  const nvmlAfter = backend === 'cuda' ? await nvidiaSmi() : null;
  const endedAt = new Date().toISOString();
  await writeFileAtomic(sidecar, sidecarBody(endedAt, nvmlBefore, nvmlAfter));
  const wallMs = performance.now() - wall0;
  return {
    ...counts,
    csvPath,
    sidecarPath: sidecar,
    wallMs,
    run,
    backend,
    found: params.tensors.length,
    selected: items.length,
    stageMs: stage,
    hostOverheadFraction: wallMs > 0 ? (wallMs - stage.native_ms) / wallMs : 0,
  };
}
