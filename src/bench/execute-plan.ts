import { performance } from 'node:perf_hooks';

import { EsmmError, describeError, errorCode } from '../errors.js';
import type { BenchmarkParams, NativeBinding } from '../native/types.js';
import type { ResultRow, RowStatus, SweepRow } from '../output/columns.js';
import { failureReason } from '../output/failure-reason.js';
import { type RowConfig, type TensorFacts, baselineTimes, emptyRow, factsOf, rowsFromResult } from '../output/result-rows.js';
import { sha256File } from '../output/run-metadata.js';
import type { RunRecord } from '../output/run-record.js';
import { blankSweepRow, sweepPointLabel, sweepRowsFromResult } from '../output/sweep-rows.js';
import { bMemoryBytes } from '../patterns/b-memory-bytes.js';
import type { PatternCache } from '../patterns/pattern-cache.js';
import { blockSparsity } from '../patterns/pattern-layout.js';
import { resolveBPatterns } from '../patterns/resolve-b-patterns.js';
import type { TensorRef } from '../weights/types.js';
import { type CallOutcome, type DeviceSlot, STICKY_CODES, type SlotCallOptions } from './device-slot.js';
import { callKernels } from './kernel-roles.js';
import { SAMPLING } from './plan.js';
import type { PlannedSource, Plan, SyntheticSource, TensorSource } from './plan-points.js';
import { pointKey, rowKey } from './point-key.js';
import type { StageTimes } from './types.js';

/** Codes that mean "this input cannot be benchmarked" (skipped) rather than "benchmarking it failed". */
const SKIP_CODES = new Set(['BAD_FILE', 'UNSAFE_PICKLE', 'UNSUPPORTED', 'NOT_FOUND']);

/** A row of either CSV kind: weight-tree rows (CSV_COLUMNS) or sweep rows (SWEEP_COLUMNS). */
export type AnyRow = ResultRow | SweepRow;

export interface ExecuteCounts {
  rows: number;
  ok: number;
  failed: number;
  skipped: number;
  /** Of the skipped rows, those of tensors that are not 2-D (norm weights, biases). */
  notMatrix: number;
}

interface Prepared {
  b: Float32Array;
  bPatterns: Uint8Array;
  a?: Float32Array;
  elementSparsity: number;
  blockSparsity: number;
  /** The one-off B-pattern computation, ms; null when the patterns came from the cache. */
  bPatternMs: number | null;
  /** B is a copy made here (transposed), nobody else's: a device's thread may take it. */
  bIsCopy: boolean;
}

export interface ExecuteParams {
  plan: Plan;
  native: NativeBinding;
  record: RunRecord;
  /** Shared by every row (orientation is per source). */
  cfg: RowConfig;
  device?: number;
  runs: number;
  warmup: number;
  l2: 'cold' | 'hot';
  seed: number;
  /** Points already in the CSV (resume): neither run nor written again. */
  done: Set<string>;
  /** Weight sources only. */
  cache?: PatternCache;
  readTensor: (ref: TensorRef) => Promise<Float32Array>;
  stage: StageTimes;
  /** sha256 of each tensor file read (run record). */
  fileShas: Record<string, string>;
  /**
   * After the rows of each (source, M) are written. A synthetic point also gives the median of
   * every dense baseline that passed, asked for or not (the sweep's table prints them).
   */
  onRows?: (source: PlannedSource, label: string, rows: AnyRow[], baselineMs?: ReadonlyMap<string, number>) => void;
  /**
   * Several devices (`--devices`): each benchmarks the tensors it is handed, largest first;
   * rows are still written in planned order. A device that fails for good (a sticky CUDA
   * error, its worker gone) fails the points it was running and takes no more.
   */
  slots?: DeviceSlot[];
  /** With `slots`: filled with each device's time in benchmark calls, ms, by device index. */
  deviceNativeMs?: Record<number, number>;
}

/** The calls of a source on a device: all at once where the slot can (benchmarkAll), else one by one, stopping at a sticky error. */
async function runOnSlot(slot: DeviceSlot, calls: BenchmarkParams[], options: SlotCallOptions): Promise<CallOutcome[]> {
  if (slot.benchmarkAll) return slot.benchmarkAll(calls, options);
  const outcomes: CallOutcome[] = [];
  let sticky: { error: unknown } | null = null;
  for (const call of calls) {
    if (sticky) {
      outcomes.push(sticky);
      continue;
    }
    try {
      outcomes.push({ result: await slot.benchmark(call, options) });
    } catch (error) {
      outcomes.push({ error });
      if (STICKY_CODES.has(errorCode(error))) sticky = { error };
    }
  }
  return outcomes;
}

type RowGroup = { label: string; rows: ResultRow[] };

/** Points of a source at M that are not in the CSV yet. */
export function pendingKernels(p: Pick<ExecuteParams, 'plan' | 'done' | 'l2' | 'seed'>, source: TensorSource, m: number): string[] {
  return [...p.plan.runnable, ...p.plan.unrunnable.map((u) => u.kernel)].filter(
    (kernel) =>
      !p.done.has(
        pointKey({
          file: source.ref.file,
          tensor: source.ref.name,
          m: String(m),
          kernel,
          orientation: source.orientation,
          backend: p.plan.backend,
          l2: p.l2,
          seed: String(p.seed),
          aSource: source.aSource,
        }),
      ),
  );
}

/** The number of points the executor will write (for a progress bar). */
export function pendingPointCount(p: Pick<ExecuteParams, 'plan' | 'done' | 'l2' | 'seed'>): number {
  let total = 0;
  for (const s of p.plan.sources) {
    if (s.kind === 'tensor') total += s.ms.reduce((t, m) => t + pendingKernels(p, s, m).length, 0);
    else if (s.kind === 'synthetic') total += p.plan.runnable.length + p.plan.unrunnable.length;
  }
  return total;
}

/**
 * Runs the points of a plan through the native backend, one benchmark call per (source, M)
 * with every runnable kernel and the dense baselines, and writes their rows (and timed samples) in
 * planned order. A source that cannot be read or benchmarked becomes rows with status and
 * reason; the run goes on. This is the one place benchmark results become rows.
 */
export async function executePlan(p: ExecuteParams): Promise<ExecuteCounts> {
  const { plan, native, record, stage } = p;
  const counts: ExecuteCounts = { rows: 0, ok: 0, failed: 0, skipped: 0, notMatrix: 0 };
  const kernelRank = (kernel: string | number | null): number => plan.kernelOrder.indexOf(String(kernel ?? ''));

  const writeRows = (rows: AnyRow[], dedupe: boolean): AnyRow[] => {
    const fresh = dedupe ? (rows as ResultRow[]).filter((r) => !p.done.has(rowKey(r))) : rows;
    if (fresh.length === 0) return fresh;
    const t = performance.now();
    record.writer.writeRows(fresh);
    stage.write_ms += performance.now() - t;
    for (const r of fresh) {
      if (dedupe) p.done.add(rowKey(r as ResultRow));
      counts.rows++;
      counts[r.status as RowStatus]++;
    }
    return fresh;
  };
  const writeSamples = (lines: object[]): void => {
    const t = performance.now();
    record.samples.write(lines.map((l) => JSON.stringify(l) + '\n').join(''));
    stage.write_ms += performance.now() - t;
  };
  type Request = Omit<BenchmarkParams, 'backend' | 'seed' | 'warmup' | 'runs' | 'l2' | 'kernels'> & { toRun: string[]; transferB?: boolean };
  /** The calls of one source (its M, in order), each with its result or why it failed. */
  type Bench = (reqs: Request[]) => Promise<CallOutcome[]>;
  /**
   * Every call, on one device or on a worker of --devices, has the same settings: the dense
   * baselines run in it beside the kernels asked for (so every row gets its speedups), with
   * the backend's noise discipline.
   */
  const callParams = ({ toRun, transferB: _transferB, ...req }: Request): BenchmarkParams => ({
    backend: plan.backend,
    seed: p.seed,
    warmup: p.warmup,
    runs: p.runs,
    l2: p.l2,
    ...SAMPLING[plan.backend],
    ...req,
    kernels: callKernels(plan.roles, toRun),
  });
  const benchmark: Bench = async (reqs) => {
    const outcomes: CallOutcome[] = [];
    for (const req of reqs) {
      const t = performance.now();
      try {
        outcomes.push({ result: await native.benchmark({ ...callParams(req), ...(p.device !== undefined ? { device: p.device } : {}) }) });
      } catch (error) {
        outcomes.push({ error });
      } finally {
        stage.native_ms += performance.now() - t;
      }
    }
    return outcomes;
  };
  const status = (err: unknown): RowStatus => (SKIP_CODES.has(errorCode(err)) ? 'skipped' : 'failed');

  /** Everything host-side for one tensor; never rejects (a failure is returned). */
  const prepare = async (source: TensorSource, patternBackend: 'cpu' | 'cuda'): Promise<Prepared | { error: unknown }> => {
    try {
      const resolved = await resolveBPatterns({
        ref: source.ref,
        orientation: source.orientation,
        cache: p.cache!,
        native,
        backend: patternBackend,
        ...(p.device !== undefined ? { device: p.device } : {}),
        readTensor: p.readTensor,
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
        bIsCopy: source.orientation !== 'raw',
      };
      if (source.aRef) {
        const ta = performance.now();
        prepared.a = await p.readTensor(source.aRef);
        stage.load_ms += performance.now() - ta;
      }
      if (!(source.ref.file in p.fileShas)) {
        const th = performance.now();
        const key = await p.cache!.fileKey(source.ref.file);
        let sha = p.cache!.lookupFileSha(key);
        if (!sha) {
          sha = await sha256File(source.ref.file);
          p.cache!.rememberFileSha(key, sha);
        }
        p.fileShas[source.ref.file] = sha;
        stage.hash_ms += performance.now() - th;
      }
      return prepared;
    } catch (error) {
      return { error };
    }
  };

  /** Rows of one tensor at each pending M (benchmarked with `bench`), grouped by M; samples are written here. */
  const runTensor = async (
    source: TensorSource,
    prepared: Prepared | { error: unknown },
    bench: Bench = benchmark,
    device: string = p.cfg.device,
  ): Promise<RowGroup[]> => {
    const groups: RowGroup[] = [];
    const pendingMs = source.ms.filter((m) => pendingKernels(p, source, m).length > 0);
    const label = `${source.ref.file}${source.ref.name ? '#' + source.ref.name : ''}`;
    const facts: TensorFacts = { ...factsOf(source.ref), k: source.k, n: source.n };
    const cfg = { ...p.cfg, orientation: source.orientation, device };
    if ('error' in prepared) {
      const reason = `${errorCode(prepared.error)}: ${describeError(prepared.error)}`;
      for (const m of pendingMs) {
        const rows = pendingKernels(p, source, m).map((kernel) => emptyRow(facts, cfg, { m, kernel, aSource: source.aSource }, status(prepared.error), reason));
        groups.push({ label, rows });
      }
      return groups;
    }
    facts.elementSparsity = prepared.elementSparsity;
    facts.blockSparsity = prepared.blockSparsity;
    facts.bMemory = bMemoryBytes(prepared.bPatterns, source.k, source.n);
    facts.bPatternMs = prepared.bPatternMs;
    const perM = pendingMs.map((m) => {
      const wanted = pendingKernels(p, source, m);
      return { m, wanted, toRun: plan.runnable.filter((kernel) => wanted.includes(kernel)) };
    });
    // Every M of the tensor in one go: a device runs them back to back.
    const calls = perM.filter((x) => x.toRun.length > 0);
    const outcomes =
      calls.length === 0
        ? []
        : await bench(
            calls.map(({ m, toRun }) => ({
              m,
              k: source.k,
              n: source.n,
              b: prepared.b,
              bPatterns: prepared.bPatterns,
              ...(prepared.a ? { a: prepared.a } : {}),
              toRun,
              transferB: prepared.bIsCopy,
            })),
          );
    let nextOutcome = 0;
    for (const { m, wanted, toRun } of perM) {
      const rows: ResultRow[] = [];
      for (const u of plan.unrunnable) {
        if (wanted.includes(u.kernel)) rows.push(emptyRow(facts, cfg, { m, kernel: u.kernel, aSource: source.aSource }, 'skipped', u.skip));
      }
      if (toRun.length > 0) {
        const outcome = outcomes[nextOutcome++]!;
        try {
          if ('error' in outcome) throw outcome.error;
          const { result } = outcome;
          rows.push(...rowsFromResult(facts, cfg, m, source.aSource, result, toRun, plan.roles));
          writeSamples(
            result.kernels
              .filter((kr) => toRun.includes(kr.id))
              .map((kr) => ({
                run: record.run,
                source_file: source.ref.file,
                tensor: source.ref.name,
                m,
                kernel: kr.id,
                a_source: source.aSource,
                samples_ms: kr.time?.samples ?? [],
                a_pattern_samples_ms: kr.id === 'esmm' ? result.aPatterns.samples : null,
              })),
          );
        } catch (err) {
          const reason = failureReason(errorCode(err), label, describeError(err));
          for (const kernel of toRun) rows.push(emptyRow(facts, cfg, { m, kernel, aSource: source.aSource }, status(err), reason));
        }
      }
      rows.sort((x, y) => kernelRank(x.kernel) - kernelRank(y.kernel));
      groups.push({ label: `${label} m=${m}`, rows });
    }
    return groups;
  };
  const emit = (source: PlannedSource, groups: RowGroup[]): void => {
    for (const g of groups) {
      const written = writeRows(g.rows, true);
      if (source.kind === 'skip' && source.notMatrix) counts.notMatrix += written.length;
      p.onRows?.(source, g.label, written);
    }
  };
  const skipRow = (source: Extract<PlannedSource, { kind: 'skip' }>): RowGroup => ({
    label: source.key,
    rows: [emptyRow(source.facts, { ...p.cfg, orientation: source.orientation }, { m: null, kernel: null, aSource: null }, 'skipped', source.reason)],
  });

  const runSynthetic = async (source: SyntheticSource): Promise<void> => {
    const point = {
      m: source.m,
      k: source.k,
      n: source.n,
      mode: source.mode,
      density: source.density,
      backend: plan.backend,
      device: p.cfg.device,
      runs: p.runs,
      warmup: p.warmup,
      l2: p.l2,
      seed: p.seed,
      run: record.run,
    };
    const rows: SweepRow[] = plan.unrunnable.map((u) => blankSweepRow(point, u.kernel, 'skipped', u.skip));
    let baselineMs = new Map<string, number>();
    try {
      const [outcome] = await benchmark([
        {
          m: source.m,
          k: source.k,
          n: source.n,
          synthetic: { mode: source.mode, density: source.density },
          toRun: plan.runnable,
        },
      ]);
      if ('error' in outcome!) throw outcome.error;
      const { result } = outcome!;
      rows.push(...sweepRowsFromResult(point, result, plan.runnable, plan.roles));
      baselineMs = baselineTimes(result, plan.roles);
      const byId = new Map(result.kernels.map((k) => [k.id, k]));
      writeSamples(
        plan.runnable.map((id) => ({
          run: record.run,
          m: source.m,
          k: source.k,
          n: source.n,
          mode: source.mode,
          density: source.density,
          kernel: id,
          samples_ms: byId.get(id)?.time?.samples ?? [],
          a_pattern_samples_ms: id === 'esmm' ? result.aPatterns.samples : null,
        })),
      );
    } catch (err) {
      const reason = failureReason(errorCode(err), sweepPointLabel(source), describeError(err));
      for (const id of plan.runnable) rows.push(blankSweepRow(point, id, 'failed', reason));
    }
    rows.sort((x, y) => kernelRank(x.kernel) - kernelRank(y.kernel));
    p.onRows?.(source, `${source.m}x${source.k}x${source.n} ${source.mode} ${source.density}`, writeRows(rows, false), baselineMs);
  };

  const work = plan.sources.filter((s) => s.kind !== 'tensor' || s.ms.some((m) => pendingKernels(p, s, m).length > 0));
  const nativeMs = p.deviceNativeMs ?? {};
  if (p.slots && p.slots.length > 0) {
    await runOnDevices(work, p.slots);
    return counts;
  }
  // On cuda, one tensor of lookahead: the next tensor is read, converted and patterned while
  // the GPU benchmarks this one. Its missing patterns are computed on the CPU (same
  // semantics) so nothing else runs on the GPU during a timed kernel. On cpu the host work
  // would compete with the timed CPU kernels, so tensors are prepared one after another.
  // At most two tensors' host data are alive at a time (this one and the next).
  const lookahead = plan.backend === 'cuda';
  let next: { source: TensorSource; prepared: Promise<Prepared | { error: unknown }> } | null = null;
  const nextTensorAfter = (i: number): TensorSource | undefined => work.slice(i + 1).find((s): s is TensorSource => s.kind === 'tensor');
  for (let i = 0; i < work.length; i++) {
    const source = work[i];
    if (source.kind === 'skip') {
      emit(source, [skipRow(source)]);
    } else if (source.kind === 'synthetic') {
      await runSynthetic(source);
    } else {
      const prepared: Prepared | { error: unknown } = await (next?.source === source ? next.prepared : prepare(source, plan.backend));
      const following = lookahead ? nextTensorAfter(i) : undefined;
      next = following ? { source: following, prepared: prepare(following, 'cpu') } : null;
      emit(source, await runTensor(source, prepared));
    }
  }
  return counts;

  /**
   * One loop per device, each taking the largest tensor not yet taken, preparing it (patterns
   * on the CPU, so no device runs anything but timed kernels; the next one while this one is
   * benchmarked) and benchmarking all its M on its device in one request (no round trip to
   * this thread between them; B moved to the device's thread, not copied). Rows wait until
   * every source planned before them is written. Host memory: two tensors per device (the one
   * its thread holds, the next one here).
   */
  async function runOnDevices(sources: PlannedSource[], slots: DeviceSlot[]): Promise<void> {
    const done = new Array<RowGroup[] | undefined>(sources.length);
    let written = 0;
    const flush = (): void => {
      while (written < sources.length && done[written]) {
        emit(sources[written], done[written]!);
        done[written] = undefined;
        written++;
      }
    };
    const queue: number[] = [];
    sources.forEach((s, i) => {
      if (s.kind === 'tensor') queue.push(i);
      else if (s.kind === 'skip') done[i] = [skipRow(s)];
      else throw new EsmmError('USAGE', 'a synthetic sweep runs on one device');
    });
    queue.sort((a, b) => sources[b].cost - sources[a].cost || a - b);
    flush();
    const broken = new Map<DeviceSlot, unknown>();
    /** Runs tensors on `slot` until the queue is empty or the device fails for good. */
    const drain = async (slot: DeviceSlot): Promise<void> => {
      const bench: Bench = async (reqs) => {
        if (broken.has(slot)) return reqs.map(() => ({ error: broken.get(slot) }));
        const t = performance.now();
        let outcomes: CallOutcome[];
        try {
          outcomes = await runOnSlot(
            slot,
            reqs.map((req) => ({ ...callParams(req), device: slot.index })),
            { transferB: reqs[0]?.transferB === true },
          );
        } catch (error) {
          outcomes = reqs.map(() => ({ error }));
        } finally {
          const ms = performance.now() - t;
          stage.native_ms += ms;
          nativeMs[slot.index] = (nativeMs[slot.index] ?? 0) + ms;
        }
        const sticky = outcomes.find((o): o is { error: unknown } => 'error' in o && STICKY_CODES.has(errorCode(o.error)));
        if (sticky) broken.set(slot, sticky.error);
        return outcomes;
      };
      // One tensor of lookahead per device: the next is prepared while this one runs.
      let i = queue.shift();
      let prepared = i !== undefined ? prepare(sources[i] as TensorSource, 'cpu') : null;
      while (i !== undefined && prepared) {
        const current = await prepared;
        const nextI = queue.shift();
        prepared = nextI !== undefined ? prepare(sources[nextI] as TensorSource, 'cpu') : null;
        done[i] = await runTensor(sources[i] as TensorSource, current, bench, slot.name);
        flush();
        i = nextI;
        if (broken.has(slot)) {
          // The tensor taken for later goes back to the others (still the largest left).
          if (i !== undefined) queue.unshift(i);
          break;
        }
      }
    };
    // A device that fails gives its next tensor back, maybe after the others found the queue
    // empty and stopped: those still working go round again until nothing is left.
    let working = slots;
    while (queue.length > 0 && working.length > 0) {
      await Promise.all(working.map(drain));
      working = slots.filter((s) => !broken.has(s));
    }
    const lost = slots
      .filter((s) => broken.has(s))
      .sort((x, y) => x.index - y.index)
      .map((s) => `device ${s.index} (${s.name}): ${describeError(broken.get(s))}`);
    // Every device failed for good: what is left cannot run.
    for (const i of queue.splice(0)) {
      const error = new EsmmError('NO_DEVICE', `no working device left (${lost.join('; ')})`);
      done[i] = await runTensor(sources[i] as TensorSource, { error });
    }
    flush();
  }
}
