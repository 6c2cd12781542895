import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { EsmmError, type ErrorCode } from '../errors.js';
import { scanRowRangeSync, type RowRangeCounts, type RowRangeTask } from './scan-row-range.js';

interface Job {
  id: number;
  task: RowRangeTask;
  resolve: (c: RowRangeCounts) => void;
  reject: (e: Error) => void;
}

type WorkerReply =
  | { ready: true }
  | { id: number; counts: RowRangeCounts }
  | { id: number; error: { message: string; code: string; file: string } };

/**
 * Row-range scans on worker threads, one per core (each reads its own rows with its own fd).
 * Until the first worker has loaded, this thread works through the queue itself, so starting
 * the pool costs no idle time.
 */
export class ScanPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<number, Job>();
  private ready = 0;
  private draining = false;
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
      w.on('message', (msg: WorkerReply) => this.onReply(w, msg));
      w.on('error', (err: Error) => {
        for (const job of this.running.values()) job.reject(err);
        this.running.clear();
      });
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private onReply(w: Worker, msg: WorkerReply): void {
    if ('ready' in msg) {
      this.ready++;
    } else {
      const job = this.running.get(msg.id);
      this.running.delete(msg.id);
      if (job && 'error' in msg) job.reject(new EsmmError(msg.error.code as ErrorCode, msg.error.message, { file: msg.error.file }));
      else if (job && 'counts' in msg) job.resolve(msg.counts);
    }
    this.dispatch(w);
  }

  private dispatch(w: Worker): void {
    const job = this.queue.shift();
    if (!job) {
      this.idle.push(w);
      return;
    }
    this.running.set(job.id, job);
    w.postMessage({ id: job.id, task: job.task });
  }

  /** Runs queued jobs here, one per event-loop turn, while no worker is ready yet. */
  private drainHere(): void {
    if (this.draining) return;
    this.draining = true;
    const step = (): void => {
      const job = this.ready === 0 ? this.queue.shift() : undefined;
      if (!job) {
        this.draining = false;
        return;
      }
      try {
        job.resolve(scanRowRangeSync(job.task));
      } catch (err) {
        job.reject(err as Error);
      }
      setImmediate(step);
    };
    setImmediate(step);
  }

  run(task: RowRangeTask): Promise<RowRangeCounts> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      const w = this.idle.pop();
      if (w) this.dispatch(w);
      else if (this.ready === 0) this.drainHere();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
