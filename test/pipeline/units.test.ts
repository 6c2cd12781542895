import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { mapKernel, pairATensor, selectTensor } from '../../src/bench/plan.js';
import { runPipeline } from '../../src/bench/run-pipeline.js';
import { stdevRel } from '../../src/output/result-rows.js';
import { dropPartialLastLine } from '../../src/output/append-file.js';
import { gitCommit } from '../../src/output/run-metadata.js';
import { orientWeight, orientWeightAsync } from '../../src/patterns/orient-weight.js';
import { PARALLEL_TRANSPOSE_MIN } from '../../src/patterns/transpose-pool.js';
import { resolveCacheDir } from '../../src/patterns/pattern-cache.js';
import type { TensorRef } from '../../src/weights/types.js';
import { packageRoot } from '../../src/version.js';
import { tempDir } from '../helpers.js';
import { FAKE_REGISTRY, fakeNative } from './fake-native.js';
import { randomMatrix, writeSafetensorsF32 } from './fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());

const ref = (name: string, labels: Record<string, string>, shape = [8, 4]): TensorRef => ({
  file: `w/${name}.pt`,
  name,
  shape,
  dtype: 'F32',
  format: 'pt',
  labels,
});

describe('pipeline pieces', () => {
  it('drops only a half-written last line', () => {
    const f = join(tmp.dir, 'x.csv');
    writeFileSync(f, 'h1,h2\n1,2\n3,');
    assert.equal(dropPartialLastLine(f), 2);
    assert.equal(readFileSync(f, 'utf8'), 'h1,h2\n1,2\n');
    assert.equal(dropPartialLastLine(f), 0);
    writeFileSync(f, 'h1,h');
    assert.equal(dropPartialLastLine(f), 4);
    assert.equal(readFileSync(f, 'utf8'), '');
  });

  it('orients W [out, in] as B = Wᵀ (linear) or B = W (raw)', () => {
    const w = Float32Array.from([1, 2, 3, 4, 5, 6]); // 2×3
    assert.deepEqual(orientWeight(w, 2, 3, 'linear'), { b: Float32Array.from([1, 4, 2, 5, 3, 6]), k: 3, n: 2 });
    const raw = orientWeight(w, 2, 3, 'raw');
    assert.equal(raw.b, w);
    assert.deepEqual([raw.k, raw.n], [2, 3]);
    const big = randomMatrix(130, 70, 4);
    const t = orientWeight(big, 130, 70, 'linear').b;
    for (const [r, c] of [[0, 0], [129, 69], [64, 3], [5, 65]]) assert.equal(t[c * 130 + r], big[r * 70 + c]);
  });

  it('transposes large weights on worker threads, counting zeros on the way', async () => {
    const rows = 2048;
    const cols = 2051; // above PARALLEL_TRANSPOSE_MIN, and ragged
    assert.ok(rows * cols >= PARALLEL_TRANSPOSE_MIN);
    const w = randomMatrix(rows, cols, 12, 0.3);
    const expected = orientWeight(w, rows, cols, 'linear');
    const got = await orientWeightAsync(w, rows, cols, 'linear');
    assert.deepEqual([got.k, got.n], [cols, rows]);
    assert.ok(Buffer.from(got.b.buffer, got.b.byteOffset, got.b.byteLength).equals(Buffer.from(expected.b.buffer)));
    assert.equal(got.zeros, w.filter((v) => v === 0).length);
    const raw = await orientWeightAsync(w, rows, cols, 'raw');
    assert.equal(raw.b, w);
    assert.equal(raw.zeros, got.zeros);
  });

  it('filters: every --filter must match the name, file or a key=value label; any --exclude drops', () => {
    const q = ref('model.layers.0.self_attn.q_proj', { sparsity: '0.5', perm: 'col' });
    assert.equal(selectTensor(q, [/q_proj/], []), true);
    assert.equal(selectTensor(q, [/q_proj/, /^sparsity=0\.5$/], []), true);
    assert.equal(selectTensor(q, [/q_proj/, /^sparsity=0\.9$/], []), false);
    assert.equal(selectTensor(q, [], [/perm=col/]), false);
    assert.equal(selectTensor(q, [], []), true);
  });

  it('maps kernels per backend: cublas is the CPU reference on cpu; tensor-core rows have no CPU twin', () => {
    assert.deepEqual(mapKernel('cublas', 'cpu', FAKE_REGISTRY), { kernel: 'reference' });
    assert.deepEqual(mapKernel('esmm', 'cuda', FAKE_REGISTRY), { kernel: 'esmm' });
    assert.deepEqual(mapKernel('cublas-tf32', 'cuda', FAKE_REGISTRY), { kernel: 'cublas-tf32' });
    assert.ok('skip' in mapKernel('cublas-tf32', 'cpu', FAKE_REGISTRY));
  });

  it('pairs an A with matching K, preferring shared labels', () => {
    const b = ref('k_proj', { layer: '3', sparsity: '0.5' }, [64, 32]);
    const a1 = ref('q_a', { layer: '1' }, [16, 32]);
    const a2 = ref('q_b', { layer: '3' }, [24, 32]);
    const a3 = ref('q_c', { layer: '3' }, [24, 64]);
    assert.equal(pairATensor(b, 32, [a1, a2, a3])?.name, 'q_b');
    assert.equal(pairATensor(b, 64, [a1, a2, a3])?.name, 'q_c');
    assert.equal(pairATensor(b, 7, [a1, a2, a3]), undefined);
  });

  it('git commit from .git without running git: loose ref, packed ref, worktree file, none', () => {
    const sha = 'a'.repeat(40);
    const repo = join(tmp.dir, 'repo');
    mkdirSync(join(repo, '.git', 'refs', 'heads'), { recursive: true });
    writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(repo, '.git', 'packed-refs'), `# pack-refs with: peeled\n${sha} refs/heads/main\n`);
    assert.equal(gitCommit(repo), sha);
    writeFileSync(join(repo, '.git', 'refs', 'heads', 'main'), 'b'.repeat(40) + '\n');
    assert.equal(gitCommit(repo), 'b'.repeat(40));
    const wt = join(tmp.dir, 'worktree');
    mkdirSync(wt);
    writeFileSync(join(wt, '.git'), `gitdir: ${join(repo, '.git')}\n`);
    assert.equal(gitCommit(wt), 'b'.repeat(40));
    assert.equal(gitCommit(join(tmp.dir, 'nowhere')), 'unknown');
  });

  it('relative stdev of samples', () => {
    assert.equal(stdevRel([2, 2, 2]), 0);
    assert.ok(Math.abs(stdevRel([1, 3])! - Math.SQRT2 / 2) < 1e-12);
  });

  it('cache folder: --cache-dir, then ESMM_CACHE_DIR, then .esmm-cache next to the weights', () => {
    assert.equal(resolveCacheDir({ cacheDir: '/c', root: '/w' }), '/c');
    assert.equal(resolveCacheDir({ root: '/w/tree' }), '/w/tree/.esmm-cache');
    assert.equal(resolveCacheDir({ root: '/w/tree/model.safetensors', rootIsFile: true }), '/w/tree/.esmm-cache');
    assert.equal(resolveCacheDir({ files: ['/w/a/x.pt', '/w/b/y.pt'] }), '/w/.esmm-cache');
    process.env.ESMM_CACHE_DIR = '/global';
    try {
      assert.equal(resolveCacheDir({ root: '/w/tree' }), '/global');
    } finally {
      delete process.env.ESMM_CACHE_DIR;
    }
  });

  it('--kernels esmm alone still runs the baseline in the same call, for the speedup', async () => {
    const file = join(tmp.dir, 'one.safetensors');
    writeSafetensorsF32(file, { w: { shape: [32, 16], data: randomMatrix(32, 16, 1, 0.5) } });
    const native = fakeNative();
    const out = join(tmp.dir, 'only-esmm.csv');
    await runPipeline(
      { tensors: [{ file, name: 'w', shape: [32, 16], dtype: 'F32', format: 'safetensors', labels: {} }], orientation: 'raw', ms: [2], kernels: ['esmm'], backend: 'cpu', runs: 2, warmup: 0, l2: 'cold', seed: 1, out, resume: false, cacheDir: join(tmp.dir, 'oc'), argv: [], progress: false },
      { native },
    );
    assert.deepEqual(native.calls[0].kernels, ['reference', 'esmm']);
    assert.deepEqual([native.calls[0].k, native.calls[0].n], [32, 16]);
    const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((r) => [r.kernel, r.orientation, r.speedup_compute]), [['esmm', 'raw', '2']]);
  });
});

it('on cuda the next tensor is prepared during the benchmark, its patterns on the CPU', async () => {
  const refs: TensorRef[] = [0, 1, 2].map((i) => {
    const file = join(tmp.dir, `la${i}.safetensors`);
    writeSafetensorsF32(file, { w: { shape: [40 + i, 24], data: randomMatrix(40 + i, 24, 20 + i, 0.5) } });
    return { file, name: 'w', shape: [40 + i, 24], dtype: 'F32', format: 'safetensors', labels: { layer: String(i) } };
  });
  const native = fakeNative({ cuda: true });
  const out = join(tmp.dir, 'lookahead.csv');
  const s = await runPipeline(
    { tensors: refs, orientation: 'linear', ms: [64], kernels: ['esmm', 'cublas'], backend: 'auto', runs: 2, warmup: 0, l2: 'cold', seed: 1, out, resume: false, cacheDir: join(tmp.dir, 'la-cache'), argv: [], progress: false },
    { native, nvidiaSmi: async () => null },
  );
  assert.equal(s.backend, 'cuda');
  assert.deepEqual(native.patternBackends, ['cuda', 'cpu', 'cpu']);
  assert.deepEqual(native.calls.map((c) => [c.backend, c.n, [...c.kernels].sort().join()]), [
    ['cuda', 40, 'cublas,dense-tf32x3,esmm'],
    ['cuda', 41, 'cublas,dense-tf32x3,esmm'],
    ['cuda', 42, 'cublas,dense-tf32x3,esmm'],
  ]);
  const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(rows.map((r) => `${r.label_layer}:${r.kernel}:${r.device}:${r.status}`), [
    '0:esmm:Fake GPU:ok', '0:cublas:Fake GPU:ok', '1:esmm:Fake GPU:ok', '1:cublas:Fake GPU:ok', '2:esmm:Fake GPU:ok', '2:cublas:Fake GPU:ok',
  ]);
  const sidecar = JSON.parse(readFileSync(s.sidecarPath, 'utf8'));
  assert.equal(sidecar.devices[0].name, 'Fake GPU');
  assert.deepEqual(sidecar.nvml, { before: null, after: null });
});

it('a pattern cache that cannot be written costs a warning, not the run', async () => {
  const file = join(tmp.dir, 'ro.safetensors');
  writeSafetensorsF32(file, { w: { shape: [32, 16], data: randomMatrix(32, 16, 4, 0.5) } });
  const notADir = join(tmp.dir, 'cache-is-a-file');
  writeFileSync(notADir, 'x');
  const lines: string[] = [];
  const out = join(tmp.dir, 'ro.csv');
  const s = await runPipeline(
    { tensors: [{ file, name: 'w', shape: [32, 16], dtype: 'F32', format: 'safetensors', labels: {} }], orientation: 'linear', ms: [2], kernels: ['esmm', 'cublas'], backend: 'cpu', runs: 1, warmup: 0, l2: 'hot', seed: 1, out, resume: false, cacheDir: notADir, argv: [], progress: false },
    { native: fakeNative(), log: (l) => lines.push(l) },
  );
  assert.equal(s.ok, 2);
  assert.equal(lines.filter((l) => l.startsWith('warning: pattern cache')).length, 1);
  assert.match(JSON.parse(readFileSync(s.sidecarPath, 'utf8')).warnings[0], /not writable/);
});

it('--resume refuses a CSV of another schema instead of appending to it', async () => {
  const out = join(tmp.dir, 'foreign.csv');
  writeFileSync(out, 'a,b\n1,2\n');
  await assert.rejects(
    runPipeline(
      { tensors: [], orientation: 'linear', ms: [2], kernels: ['esmm'], backend: 'cpu', runs: 1, warmup: 0, l2: 'hot', seed: 1, out, resume: true, cacheDir: join(tmp.dir, 'fc'), argv: [], progress: false },
      { native: fakeNative() },
    ),
    (err: Error & { code?: string }) => err.code === 'USAGE' && /header differs/.test(err.message),
  );
  assert.equal(readFileSync(out, 'utf8'), 'a,b\n1,2\n');
});

it('one writer per CSV: a live lock holder is refused, a dead one is taken over', async () => {
  const out = join(tmp.dir, 'locked.csv');
  const params = { tensors: [], orientation: 'linear' as const, ms: [2], kernels: ['esmm'], backend: 'cpu' as const, runs: 1, warmup: 0, l2: 'hot' as const, seed: 1, out, resume: true, cacheDir: join(tmp.dir, 'lc'), argv: [], progress: false };
  writeFileSync(`${out}.lock`, String(process.ppid));
  await assert.rejects(runPipeline(params, { native: fakeNative() }), (err: Error & { code?: string }) => err.code === 'USAGE' && /another esmm-bench process/.test(err.message));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  writeFileSync(`${out}.lock`, String(dead));
  const s = await runPipeline(params, { native: fakeNative() });
  assert.equal(s.rows, 0);
  assert.equal(existsSync(`${out}.lock`), false, 'released at the end');
});

it('the run record names the commit the tool was built from, recorded at build time', async () => {
  const out = join(tmp.dir, 'commit.csv');
  const s = await runPipeline(
    { tensors: [], orientation: 'linear', ms: [2], kernels: ['esmm'], backend: 'cpu', runs: 1, warmup: 0, l2: 'hot', seed: 1, out, resume: false, cacheDir: join(tmp.dir, 'cc'), argv: [], progress: false },
    { native: fakeNative() },
  );
  const built = JSON.parse(readFileSync(join(packageRoot(), 'dist', 'build-info.json'), 'utf8')) as { commit: string; dirty: boolean };
  const tool = JSON.parse(readFileSync(s.sidecarPath, 'utf8')).tool;
  assert.equal(tool.gitCommit, built.commit);
  assert.equal(tool.dirty, built.dirty);
  assert.equal(tool.addonCommit, 'unknown', 'the fake addon records no build commit');
});
