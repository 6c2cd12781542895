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
 * Wᵀ of a row-major rows×cols matrix, split by columns over worker threads for large
 * matrices so the main thread stays free (it feeds the GPU meanwhile); in this thread for
 * small ones or where workers cannot start. Counts zeros on the way.
 */
export async function transposeParallel(data: Float32Array, rows: number, cols: number): Promise<Transposed> {
  const n = rows * cols;
  const ws = n >= PARALLEL_TRANSPOSE_MIN ? pool() : null;
  if (!ws) return transposeHere(data, rows, cols);
  let src: SharedArrayBuffer;
  let srcOffset = 0;
  if (data.buffer instanceof SharedArrayBuffer) {
    src = data.buffer;
    srcOffset = data.byteOffset;
  } else {
    src = new SharedArrayBuffer(n * 4);
    new Float32Array(src).set(data);
  }
  const dst = new SharedArrayBuffer(n * 4);
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
          w.postMessage({ id, src, srcOffset, dst, rows, cols, c0, c1 });
        });
      }),
    );
    return { out: new Float32Array(dst), zeros: counts.reduce((a, b) => a + b, 0) };
  } catch {
    return transposeHere(data, rows, cols);
  }
}
