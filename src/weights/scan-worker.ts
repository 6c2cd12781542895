import { parentPort } from 'node:worker_threads';

import { describeError, errorCode } from '../errors.js';
import { scanRowRangeSync, type RowRangeTask } from './scan-row-range.js';

/** Runs row-range scans posted by ScanPool, one at a time, answers tagged with the task id. */
parentPort?.on('message', (msg: { id: number; task: RowRangeTask }) => {
  try {
    parentPort?.postMessage({ id: msg.id, counts: scanRowRangeSync(msg.task) });
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, error: { message: describeError(err), code: errorCode(err), file: msg.task.file } });
  }
});
parentPort?.postMessage({ ready: true });
