import assert from 'node:assert/strict';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { runPipeline } from '../../src/bench/run-pipeline.js';
import type { PipelineParams } from '../../src/bench/types.js';
import { readTensorF32 } from '../../src/weights/index.js';
import type { TensorRef } from '../../src/weights/types.js';
import { tempDir } from '../helpers.js';
import { fakeNative } from './fake-native.js';
import { randomMatrix, writeSafetensorsF32 } from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

interface Record {
  endedAt: string | null;
  progress: { rows: number; of: number };
  summary: { rows: number };
  stageMs: { native_ms: number };
  peakRssBytes: number;
}

it('the run record is rewritten while the run goes on (rows so far, stage times), and the final one wins', async () => {
  const tree = join(tmp.dir, 'tree');
  const refs: TensorRef[] = ['a', 'b', 'c', 'd'].map((n, i) => {
    const file = join(tree, `${n}.safetensors`);
    writeSafetensorsF32(file, { w: { shape: [32 + i, 16], data: randomMatrix(32 + i, 16, i + 1) } });
    const t = new Date(Date.now() - 60_000);
    utimesSync(file, t, t);
    return { file, name: 'w', shape: [32 + i, 16], dtype: 'F32', format: 'safetensors', labels: { layer: n } };
  });
  const out = join(tmp.dir, 'run.csv');
  const params: PipelineParams = {
    tensors: refs,
    orientation: 'linear',
    ms: [4],
    kernels: ['esmm', 'cublas'],
    backend: 'cpu',
    runs: 1,
    warmup: 0,
    l2: 'hot',
    seed: 1,
    out,
    resume: false,
    cacheDir: join(tmp.dir, 'cache'),
    argv: ['test'],
    progress: false,
  };
  const seen: Record[] = [];
  await runPipeline(params, {
    native: fakeNative(),
    recordEveryMs: 0,
    readTensor: async (ref) => {
      if (ref.file.endsWith('d.safetensors')) {
        // Let the refresh queued by the rows before finish, then read what a stopped run would leave.
        await new Promise((r) => setTimeout(r, 50));
        seen.push(JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record);
      }
      return readTensorF32(ref);
    },
  });
  assert.equal(seen.length, 1);
  const mid = seen[0]!;
  assert.equal(mid.endedAt, null);
  assert.ok(mid.progress.rows > 0 && mid.progress.rows < mid.progress.of, JSON.stringify(mid.progress));
  assert.ok(mid.peakRssBytes > 0);
  const final = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record;
  assert.notEqual(final.endedAt, null);
  assert.equal(final.progress.rows, final.progress.of);
  assert.equal(final.summary.rows, 8);
});
