import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { EsmmError } from '../errors.js';
import type { BenchmarkParams, BenchmarkResult } from '../native/types.js';

/** One device of a multi-device run: benchmarks on that device only, one call at a time. */
export interface DeviceSlot {
  index: number;
  /** The device's name, for rows that carry no result. */
  name: string;
  benchmark(params: BenchmarkParams): Promise<BenchmarkResult>;
  close(): Promise<void>;
}

/**
 * A worker thread that loads the addon for itself and benchmarks on one CUDA device, so each
 * device has its own thread and context and the devices run at once. A worker that dies
 * fails its call and every later one.
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
  const pending = new Map<number, { resolve: (r: BenchmarkResult) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error): void => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('message', (msg: { id: number; result?: BenchmarkResult; error?: { code: string; message: string } }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(Object.assign(new EsmmError('INTERNAL', msg.error.message), { code: msg.error.code }));
    else p.resolve(msg.result!);
  });
  worker.on('error', (err: Error) => failAll(new EsmmError('CUDA_ERROR', `device ${index}: its worker died: ${err.message}`)));
  worker.on('exit', (code) => failAll(new EsmmError('CUDA_ERROR', `device ${index}: its worker exited (${code})`)));
  return {
    index,
    name,
    benchmark(params) {
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, params: { ...params, device: index } });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
