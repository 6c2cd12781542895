import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { EsmmError, type ErrorCode } from '../errors.js';
import type { RowRangeCounts, RowRangeTask } from './scan-row-range.js';

interface Pending {
  resolve: (c: RowRangeCounts) => void;
  reject: (e: Error) => void;
}

/** Reading and counting run on every core: each worker reads its own rows with its own fd. */
export class ScanPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { id: number; task: RowRangeTask }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(threads = Math.min(4, availableParallelism())) {
    // The worker sits beside this module with the same extension: .js when built, .ts when
    // run through tsx (tests, development), where the worker must register tsx itself because
    // Node 20 does not carry --import hooks into worker threads.
    const ext = extname(fileURLToPath(import.meta.url));
    const url = new URL(`./scan-worker${ext}`, import.meta.url);
    for (let i = 0; i < threads; i++) {
      const w =
        ext === '.ts'
          ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, {
              eval: true,
            })
          : new Worker(url);
      w.on('message', (msg: { id: number; counts?: RowRangeCounts; error?: { message: string; code: string; file: string } }) => {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (p) {
          if (msg.error) p.reject(new EsmmError(msg.error.code as ErrorCode, msg.error.message, { file: msg.error.file }));
          else p.resolve(msg.counts as RowRangeCounts);
        }
        this.dispatch(w);
      });
      w.on('error', (err: Error) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private dispatch(worker: Worker): void {
    const next = this.queue.shift();
    if (next) worker.postMessage(next);
    else this.idle.push(worker);
  }

  run(task: RowRangeTask): Promise<RowRangeCounts> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, task });
      const w = this.idle.pop();
      if (w) this.dispatch(w);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
