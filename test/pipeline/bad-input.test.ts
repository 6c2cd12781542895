import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { runPipeline } from '../../src/bench/run-pipeline.js';
import type { PipelineParams } from '../../src/bench/types.js';
import { EsmmError, BadFileError } from '../../src/errors.js';
import type { TensorRef } from '../../src/weights/types.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { fakeNative } from './fake-native.js';
import { randomMatrix, runCli, writeSafetensorsF32 } from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

it('malformed files become skipped rows, the run goes on, exit code 1', async () => {
  const tree = join(tmp.dir, 'tree');
  writeSafetensorsF32(join(tree, 'good.safetensors'), {
    'fc.weight': { shape: [40, 24], data: randomMatrix(40, 24, 5, 0.5) },
    'fc.bias': { shape: [40], data: randomMatrix(1, 40, 6) },
  });
  // Header length pointing past the end of the file.
  const past = Buffer.alloc(16);
  past.writeBigUInt64LE(1000n);
  writeFileSync(join(tree, 'a-past-end.safetensors'), past);
  // Valid header, data cut short.
  writeSafetensorsF32(join(tree, 'z-truncated.safetensors'), { w: { shape: [32, 32], data: randomMatrix(32, 32, 7) } });
  const full = readFileSync(join(tree, 'z-truncated.safetensors'));
  writeFileSync(join(tree, 'z-truncated.safetensors'), full.subarray(0, full.length - 100));
  const csv = join(tmp.dir, 'bad.csv');
  const r = await runCli(['run', tree, '--backend', 'cpu', '--m', '8', '--runs', '1', '--warmup', '0', '--l2', 'hot', '--out', csv, '--cache-dir', join(tmp.dir, 'c'), '--no-progress']);
  assert.equal(r.code, 1, r.stderr);
  const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
  const ok = rows.filter((x) => x.status === 'ok');
  assert.deepEqual(ok.map((x) => `${x.tensor}:${x.kernel}`).sort(), ['fc.weight:esmm', 'fc.weight:reference']);
  const skipped = rows.filter((x) => x.status === 'skipped');
  const reasonOf = (pattern: RegExp) => skipped.find((x) => pattern.test(x.source_file) || pattern.test(x.tensor))?.reason ?? '';
  assert.match(reasonOf(/a-past-end/), /a-past-end\.safetensors/);
  assert.match(reasonOf(/z-truncated/), /z-truncated\.safetensors/);
  assert.match(reasonOf(/fc\.bias/), /.+/);
  assert.equal(rows.length, ok.length + skipped.length);
  assert.match(r.stdout, /2 ok, 0 failed, [1-9]\d* skipped/);
});

it('a tensor that cannot be read or benchmarked becomes rows with a reason; the others are benchmarked', async () => {
  const tree = join(tmp.dir, 'inj');
  const refs: TensorRef[] = ['a', 'b', 'c'].map((n, i) => {
    const file = join(tree, `${n}.safetensors`);
    writeSafetensorsF32(file, { w: { shape: [32 + i, 16], data: randomMatrix(32 + i, 16, i + 1) } });
    const t = new Date(Date.now() - 60_000);
    utimesSync(file, t, t);
    return { file, name: 'w', shape: [32 + i, 16], dtype: 'F32', format: 'safetensors', labels: { layer: n } };
  });
  const native = fakeNative({ failOn: (p) => (p.n === 34 ? new EsmmError('OUT_OF_MEMORY', 'benchmark: needs 9 GiB, 1 GiB free') : null) });
  const params: PipelineParams = {
    tensors: refs,
    orientation: 'linear',
    ms: [4, 8],
    kernels: ['esmm', 'cublas', 'cublas-bf16'],
    backend: 'cpu',
    runs: 3,
    warmup: 0,
    l2: 'cold',
    seed: 2,
    out: join(tmp.dir, 'inj.csv'),
    resume: false,
    cacheDir: join(tmp.dir, 'inj-cache'),
    argv: ['test'],
    progress: false,
  };
  const { readTensorF32 } = await import('../../src/weights/index.js');
  const s = await runPipeline(params, {
    native,
    readTensor: async (ref) => {
      if (ref.file.endsWith('a.safetensors')) throw new BadFileError(ref.file, 'tensor data ends early');
      return readTensorF32(ref);
    },
  });
  const rows = parse(readFileSync(params.out, 'utf8'), { columns: true }) as Record<string, string>[];
  const by = (layer: string) => rows.filter((r) => r.label_layer === layer);
  // 3 tensors × 2 M × 3 kernels; bf16 has no CPU version.
  assert.equal(rows.length, 18);
  for (const r of by('a')) assert.match(r.reason, /^BAD_FILE: .*a\.safetensors: tensor data ends early$/);
  assert.deepEqual(by('b').map((r) => `${r.m}:${r.kernel}:${r.status}`), [
    '4:esmm:ok', '4:reference:ok', '4:cublas-bf16:skipped', '8:esmm:ok', '8:reference:ok', '8:cublas-bf16:skipped',
  ]);
  assert.ok(by('c').filter((r) => r.kernel !== 'cublas-bf16').every((r) => r.status === 'failed' && /^OUT_OF_MEMORY .*c\.safetensors#w: benchmark: needs 9 GiB, 1 GiB free$/.test(r.reason)));
  assert.deepEqual({ ok: s.ok, failed: s.failed, skipped: s.skipped }, { ok: 4, failed: 4, skipped: 10 });
  // Speedups come from the baseline of the same call; the baseline ran although esmm came first in --kernels.
  const esmm = by('b').find((r) => r.kernel === 'esmm' && r.m === '4')!;
  assert.equal(Number(esmm.speedup_compute), 2);
  assert.equal(Number(esmm.speedup_total), 4 / 2.5);
  assert.equal(Number(esmm.tflops), (2 * 4 * 33 * 16) / (2 * 1e9));
  assert.equal(esmm.k, '16');
  assert.equal(esmm.n, '33');
  assert.ok(native.calls.every((c) => [...c.kernels].sort().join() === 'esmm,reference' && c.bPatterns !== undefined && c.b !== undefined));
});

it('--a-dir pairs: A tensors whose K matches B after orientation give M and the A data', async () => {
  const tree = join(tmp.dir, 'pairs');
  const bFile = join(tree, 'b', 'k.safetensors');
  const aFile = join(tree, 'a', 'q.safetensors');
  const aData = randomMatrix(24, 16, 9);
  writeSafetensorsF32(bFile, { w: { shape: [40, 16], data: randomMatrix(40, 16, 8) }, odd: { shape: [8, 12], data: randomMatrix(8, 12, 10) } });
  writeSafetensorsF32(aFile, { q: { shape: [24, 16], data: aData }, other: { shape: [5, 7], data: randomMatrix(5, 7, 11) } });
  const bRefs: TensorRef[] = [
    { file: bFile, name: 'w', shape: [40, 16], dtype: 'F32', format: 'safetensors', labels: {} },
    { file: bFile, name: 'odd', shape: [8, 12], dtype: 'F32', format: 'safetensors', labels: {} },
  ];
  const aRefs: TensorRef[] = [
    { file: aFile, name: 'other', shape: [5, 7], dtype: 'F32', format: 'safetensors', labels: {} },
    { file: aFile, name: 'q', shape: [24, 16], dtype: 'F32', format: 'safetensors', labels: {} },
  ];
  const native = fakeNative();
  const out = join(tmp.dir, 'pairs.csv');
  await runPipeline(
    { tensors: bRefs, aTensors: aRefs, orientation: 'linear', ms: [4096], kernels: ['esmm', 'cublas'], backend: 'cpu', runs: 1, warmup: 0, l2: 'hot', seed: 1, out, resume: false, cacheDir: join(tmp.dir, 'pc'), argv: [], progress: false },
    { native },
  );
  const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
  const paired = rows.filter((r) => r.tensor === 'w');
  assert.deepEqual(paired.map((r) => [r.m, r.k, r.n, r.a_source, r.status]), [
    ['24', '16', '40', `${aFile}#q`, 'ok'],
    ['24', '16', '40', `${aFile}#q`, 'ok'],
  ]);
  assert.equal(native.calls.length, 1);
  assert.deepEqual([...native.calls[0].a!], [...aData]);
  const lone = rows.find((r) => r.tensor === 'odd')!;
  assert.equal(lone.status, 'skipped');
  assert.equal(lone.reason, 'no A tensor with K = 12 in --a-dir');
});

it('usage errors exit with code 2 and say what is wrong', async () => {
  const badM = await runCli(['run', join(SHARED_WEIGHTS, 'pruned-tree'), '--backend', 'cpu', '--m', '0,16', '--out', join(tmp.dir, 'u.csv')]);
  assert.equal(badM.code, 2);
  assert.match(badM.stderr, /--m takes positive integers separated by commas, got '0,16'/);
  const badKernel = await runCli(['sweep', '--backend', 'cpu', '--kernels', 'esmm,cutlass', '--out', join(tmp.dir, 's.csv')]);
  assert.equal(badKernel.code, 2);
  assert.match(badKernel.stderr, /unknown kernel 'cutlass'/);
});
