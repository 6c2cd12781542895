import { parentPort } from 'node:worker_threads';

import { describeError, errorCode } from '../errors.js';
import { loadNative } from '../native/index.js';
import type { BenchmarkParams, BenchmarkResult } from '../native/types.js';
import { STICKY_CODES } from './device-slot.js';

/** What a request carries besides its settings: the tensor's operands, sent once per tensor. */
export type Operands = Pick<BenchmarkParams, 'a' | 'b' | 'bPatterns'>;

type WireOutcome = { result: BenchmarkResult } | { error: { code: string; message: string } };

/**
 * Benchmarks on the device each call names, with this thread's own copy of the addon. A request
 * holds one tensor's calls (its M), run back to back; the operands of the last request that
 * carried any are kept for the requests that follow without. Calls run on this thread
 * (benchmarkSync), which does nothing else, so no device holds a libuv pool thread for the
 * length of its calls. After a sticky error the request's other calls fail with it unrun.
 */
const native = loadNative();
let held: Operands = {};
const run = async (params: BenchmarkParams): Promise<BenchmarkResult> => (native.benchmarkSync ? native.benchmarkSync(params) : native.benchmark(params));
parentPort!.on('message', async (msg: { id: number; calls: BenchmarkParams[]; operands?: Operands }) => {
  // This request's operands, whatever a later request brings meanwhile.
  const operands = msg.operands ?? held;
  held = operands;
  const outcomes: WireOutcome[] = [];
  let sticky: WireOutcome | null = null;
  for (const call of msg.calls) {
    if (sticky) {
      outcomes.push(sticky);
      continue;
    }
    try {
      outcomes.push({ result: await run({ ...call, ...operands }) });
    } catch (err) {
      const failure: WireOutcome = { error: { code: errorCode(err), message: describeError(err) } };
      outcomes.push(failure);
      if (STICKY_CODES.has(errorCode(err))) sticky = failure;
    }
  }
  parentPort!.postMessage({ id: msg.id, outcomes });
});
