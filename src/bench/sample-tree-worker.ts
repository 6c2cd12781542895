import { parentPort, workerData } from 'node:worker_threads';

import { GeneratorScratch, type SampleTreeSpec, writeSampleTensor } from './sample-tree.js';

/** Generates the tensors it is handed, one at a time, reusing its buffers. */
const { root, spec } = workerData as { root: string; spec: SampleTreeSpec };
const scratch = new GeneratorScratch();
parentPort!.on('message', ({ index }: { index: number }) => {
  writeSampleTensor(root, spec, index, scratch).then(
    () => parentPort!.postMessage({ index }),
    (err: unknown) => parentPort!.postMessage({ index, error: err instanceof Error ? err.message : String(err) }),
  );
});
