import { parentPort } from 'node:worker_threads';

import { describeError, errorCode } from '../errors.js';
import { loadNative } from '../native/index.js';
import type { BenchmarkParams } from '../native/types.js';

/** Benchmarks on the device each request names, with this thread's own copy of the addon. */
const native = loadNative();
parentPort!.on('message', (msg: { id: number; params: BenchmarkParams }) => {
  native.benchmark(msg.params).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: { code: errorCode(err), message: describeError(err) } }),
  );
});
