import { parentPort } from 'node:worker_threads';

import { transposeColumns } from './transpose-tile.js';

interface Task {
  id: number;
  src: SharedArrayBuffer;
  srcOffset: number;
  dst: SharedArrayBuffer;
  rows: number;
  cols: number;
  c0: number;
  c1: number;
}

parentPort!.on('message', (t: Task) => {
  const n = t.rows * t.cols;
  const zeros = transposeColumns(new Float32Array(t.src, t.srcOffset, n), new Float32Array(t.dst, 0, n), t.rows, t.cols, t.c0, t.c1);
  parentPort!.postMessage({ id: t.id, zeros });
});
