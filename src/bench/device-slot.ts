import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { EsmmError } from '../errors.js';
import type { BenchmarkParams, BenchmarkResult } from '../native/types.js';
import type { Operands } from './device-worker.js';

/** Error codes after which a device is not used again (its context is gone, or the device). */
export const STICKY_CODES: ReadonlySet<string> = new Set(['CUDA_ERROR', 'NO_DEVICE']);

/** One call's result, or why it failed. */
export type CallOutcome = { result: BenchmarkResult } | { error: unknown };

export interface SlotCallOptions {
  /**
   * B is the caller's to give away (a copy made for this tensor): it is moved to the device's
   * thread instead of copied, and is detached here after the call. Pass the same array for the
   * other calls of the tensor.
   */
  transferB?: boolean;
}

/** One device of a multi-device run: benchmarks on that device only, one call at a time. */
export interface DeviceSlot {
  index: number;
  /** The device's name, for rows that carry no result. */
  name: string;
  benchmark(params: BenchmarkParams, options?: SlotCallOptions): Promise<BenchmarkResult>;
  /**
   * Calls with the same operands (one tensor's M), run back to back on the device with no
   * round trip between them; after a sticky error the rest fail with it without running.
   */
  benchmarkAll?(calls: BenchmarkParams[], options?: SlotCallOptions): Promise<CallOutcome[]>;
  close(): Promise<void>;
}

/** An array that owns all of a plain (not shared) buffer, which can be moved to another thread. */
function movable(a: Float32Array): boolean {
  return !(a.buffer instanceof SharedArrayBuffer) && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.byteLength > 0;
}

type WireOutcome = { result: BenchmarkResult } | { error: { code: string; message: string } };

/**
 * A worker thread that loads the addon for itself and benchmarks on one CUDA device, so each
 * device has its own thread and context and the devices run at once. A tensor's operands go to
 * the worker once, with its first calls (B moved, not copied, when the caller gives it away);
 * later calls with the same arrays reuse them. A worker that dies fails its calls and every
 * later one.
 */
export function openDeviceWorker(index: number, name: string): DeviceSlot {
  // Beside this module: .js when built, .ts under tsx (tests), where tsx must be registered.
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./device-worker${ext}`, import.meta.url);
  const worker =
    ext === '.ts'
      ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
      : new Worker(url);
  let nextId = 0;
  let dead: Error | null = null;
  // The operands the worker holds (by identity; B may be detached here once moved).
  let held: Operands | null = null;
  const pending = new Map<number, { resolve: (r: CallOutcome[]) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error): void => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (msg: { id: number; outcomes: WireOutcome[] }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    p.resolve(
      msg.outcomes.map((o) =>
        'error' in o ? { error: Object.assign(new EsmmError('INTERNAL', o.error.message), { code: o.error.code }) } : o,
      ),
    );
  });
  worker.on('error', (err: Error) => failAll(new EsmmError('CUDA_ERROR', `device ${index}: its worker died: ${err.message}`)));
  worker.on('exit', (code) => failAll(new EsmmError('CUDA_ERROR', `device ${index}: its worker exited (${code})`)));

  const benchmarkAll = (calls: BenchmarkParams[], options: SlotCallOptions = {}): Promise<CallOutcome[]> => {
    if (dead) return Promise.reject(dead);
    if (calls.length === 0) return Promise.resolve([]);
    const { a, b, bPatterns } = calls[0]!;
    if (calls.some((c) => c.a !== a || c.b !== b || c.bPatterns !== bPatterns)) {
      return Promise.reject(new EsmmError('USAGE', 'benchmarkAll: every call must have the same a, b and bPatterns'));
    }
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      const settings = calls.map(({ a: _a, b: _b, bPatterns: _p, ...rest }) => ({ ...rest, device: index }));
      if (held && held.a === a && held.b === b && held.bPatterns === bPatterns) {
        worker.postMessage({ id, calls: settings });
        return;
      }
      const operands: Operands = { ...(a ? { a } : {}), ...(b ? { b } : {}), ...(bPatterns ? { bPatterns } : {}) };
      const move = options.transferB && b && movable(b) ? [b.buffer as ArrayBuffer] : [];
      try {
        worker.postMessage({ id, calls: settings, operands }, move);
        held = operands;
      } catch (err) {
        pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  };
  return {
    index,
    name,
    benchmarkAll,
    async benchmark(params, options) {
      const [outcome] = await benchmarkAll([params], options);
      if ('error' in outcome!) throw outcome.error;
      return outcome!.result;
    },
    async close() {
      await worker.terminate();
    },
  };
}
