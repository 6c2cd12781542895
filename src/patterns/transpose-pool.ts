import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { transposeColumns } from './transpose-tile.js';

/** Below this many elements a transpose is cheaper than handing it to workers. */
export const PARALLEL_TRANSPOSE_MIN = 1 << 22;
const MAX_WORKERS = 8;

export interface Transposed {
  /** dataᵀ, cols×rows row-major. */
  out: Float32Array;
  /** Elements equal to ±0. */
  zeros: number;
}

let workers: Worker[] | null = null;
let failed = false;
let nextId = 0;
const pending = new Map<number, { resolve: (zeros: number) => void; reject: (err: Error) => void }>();
/** Jobs in flight per worker: a worker keeps the process alive only while it has work. */
const busy = new Map<Worker, number>();

/** Lazily started, never keeps the process alive; null when workers cannot start here. */
function pool(): Worker[] | null {
  if (failed) return null;
  if (workers) return workers;
  // The worker sits beside this module: .js when built, .ts under tsx (tests), where it must
  // register tsx itself because Node 20 does not carry --import hooks into worker threads.
  const ext = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./transpose-worker${ext}`, import.meta.url);
  const count = Math.max(1, Math.min(MAX_WORKERS, availableParallelism() - 1));
  try {
    workers = Array.from({ length: count }, () => {
      const w =
        ext === '.ts'
          ? new Worker(`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
          : new Worker(url);
      w.unref();
      w.on('message', (msg: { id: number; zeros: number }) => {
        const left = (busy.get(w) ?? 1) - 1;
        busy.set(w, left);
        if (left === 0) w.unref();
        pending.get(msg.id)?.resolve(msg.zeros);
        pending.delete(msg.id);
      });
      w.on('error', (err: Error) => {
        failed = true;
        for (const p of pending.values()) p.reject(err);
        pending.clear();
      });
      return w;
    });
  } catch {
    failed = true;
    return null;
  }
  return workers;
}

function transposeHere(data: Float32Array, rows: number, cols: number): Transposed {
  const out = new Float32Array(rows * cols);
  return { out, zeros: transposeColumns(data, out, rows, cols, 0, cols) };
}

/**
 * The two shared buffers every parallel transpose goes through, grown to the largest matrix
 * seen and then reused. A shared buffer handed to a worker lives until that worker's
 * isolate collects garbage, which an idle worker rarely does: fresh buffers per matrix kept
 * every matrix of a run alive. Reused ones bound host memory by the largest tensor.
 */
let scratch: { src: SharedArrayBuffer; dst: SharedArrayBuffer } | null = null;
/** One parallel transpose at a time (they share the scratch buffers and the workers). */
let queue: Promise<unknown> = Promise.resolve();

function scratchFor(bytes: number): { src: SharedArrayBuffer; dst: SharedArrayBuffer } {
  if (!scratch || scratch.src.byteLength < bytes) scratch = { src: new SharedArrayBuffer(bytes), dst: new SharedArrayBuffer(bytes) };
  return scratch;
}

/**
 * Wᵀ of a row-major rows×cols matrix, split by columns over worker threads for large
 * matrices so the main thread stays free (it feeds the GPU meanwhile); in this thread for
 * small ones or where workers cannot start. Counts zeros on the way.
 */
export function transposeParallel(data: Float32Array, rows: number, cols: number): Promise<Transposed> {
  const n = rows * cols;
  const ws = n >= PARALLEL_TRANSPOSE_MIN ? pool() : null;
  if (!ws) return Promise.resolve(transposeHere(data, rows, cols));
  const run = queue.then(() => transposeOnWorkers(ws, data, rows, cols));
  queue = run.catch(() => {});
  return run;
}

async function transposeOnWorkers(ws: Worker[], data: Float32Array, rows: number, cols: number): Promise<Transposed> {
  const n = rows * cols;
  const { src, dst } = scratchFor(n * 4);
  new Float32Array(src, 0, n).set(data);
  const chunk = Math.ceil(cols / ws.length);
  try {
    const counts = await Promise.all(
      ws.map((w, i) => {
        const c0 = i * chunk;
        const c1 = Math.min(cols, c0 + chunk);
        if (c0 >= c1) return Promise.resolve(0);
        const id = nextId++;
        return new Promise<number>((resolve, reject) => {
          pending.set(id, { resolve, reject });
          busy.set(w, (busy.get(w) ?? 0) + 1);
          w.ref();
          w.postMessage({ id, src, srcOffset: 0, dst, rows, cols, c0, c1 });
        });
      }),
    );
    // A copy the caller owns: the scratch buffer is reused by the next transpose.
    return { out: new Float32Array(dst, 0, n).slice(), zeros: counts.reduce((a, b) => a + b, 0) };
  } catch {
    return transposeHere(data, rows, cols);
  }
}
