import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { aTileDensity } from '../../src/activations/a-tile-density.js';
import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { readActivationDumpIndex } from '../../src/activations/read-activation-dump-index.js';
import { pairActivations } from '../../src/bench/pair-activations.js';
import { shuffleWithinTiles } from '../../src/bench/shuffle-within-tiles.js';
import { prng } from '../../src/bench/sample-tree.js';
import { captureCommand } from '../../src/commands/capture.js';
import { runCommand } from '../../src/commands/run.js';
import { sparsifyCommand } from '../../src/commands/sparsify.js';
import type { TensorRef } from '../../src/weights/types.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { fakeNative } from '../pipeline/fake-native.js';
import { writeTinyGpt2 } from './fixtures.js';

const TINY = join(SHARED_WEIGHTS, 'tinystories-656k');
const TOKENS = '1,432,77,1203,9,15,600,1999,2,45,300,301,302,1000,5,7';

/** Nonzeros of every tileRows × tileCols block, in block order. */
function tileCounts(x: Float32Array, rows: number, cols: number, tr: number, tc: number): number[] {
  const out: number[] = [];
  for (let r0 = 0; r0 < rows; r0 += tr) {
    for (let c0 = 0; c0 < cols; c0 += tc) {
      let n = 0;
      for (let r = r0; r < Math.min(rows, r0 + tr); r++) for (let c = c0; c < Math.min(cols, c0 + tc); c++) if (x[r * cols + c] !== 0) n++;
      out.push(n);
    }
  }
  return out;
}

describe('random-mask controls', () => {
  it('keep every tile’s nonzero count and values but move them', () => {
    const rand = prng(9);
    const rows = 70;
    const cols = 20;
    const x = Float32Array.from({ length: rows * cols }, (_, i) => (rand() < 0.6 ? 0 : i + 1));
    const y = shuffleWithinTiles(x, rows, cols, 32, 8, prng(1));
    assert.deepEqual(tileCounts(y, rows, cols, 32, 8), tileCounts(x, rows, cols, 32, 8));
    assert.deepEqual([...y].sort((a, b) => a - b), [...x].sort((a, b) => a - b));
    assert.notDeepEqual(y, x);
  });
});

describe('run --activations', () => {
  it('pairs each weight with its captured input: weight-only, joint and activation-only rows, with controls, at the dump M and a repeated M', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const dense = join(dir, 'dense.safetensors');
      await captureCommand(TINY, { tokens: TOKENS, out: dense }, () => {});
      const dump = join(dir, 'block.safetensors');
      await sparsifyCommand(dense, { method: 'block:0.5', model: TINY, out: dump }, () => {});
      const captured = await readActivationDump(dump);
      const a16 = captured.inputs.get('model.layers.0.mlp.down_proj')!.data;

      const native = fakeNative();
      const out = join(dir, 'r.csv');
      const summary = await runCommand(
        join(TINY, 'model.safetensors'),
        { activations: dump, control: 'random', m: '16,40', kernels: 'esmm', backend: 'cpu', out, cacheDir: join(dir, 'cache'), progress: false, runs: '1', warmup: '0', filter: ['layers\\.0\\.mlp\\.down_proj'], orientation: 'linear', device: '0', l2: 'cold', seed: '1', resume: false, overwrite: false },
        { native },
      );
      assert.equal(summary.failed, 0);
      const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Array<Record<string, string>>;
      const esmm = rows.filter((r) => r.kernel === 'esmm');
      const seen = esmm.map((r) => `${r.m} ${JSON.parse(r.labels_json).variant} ${r.a_source}`).sort();
      const module = 'model.layers.0.mlp.down_proj';
      const expected = ['16', '40'].flatMap((m) => [
        `${m} weight-only random`,
        `${m} joint captured:${module}`,
        `${m} activation-only captured:${module}`,
        `${m} weight-only-control random`,
        `${m} joint-control control-random:${module}`,
        `${m} activation-only-control control-random:${module}`,
      ]);
      assert.deepEqual(seen, expected.sort());

      const k = 384;
      const callsAt = (m: number) => native.calls.filter((c) => c.m === m);
      for (const m of [16, 40]) {
        const calls = callsAt(m);
        assert.equal(calls.length, 6);
        const withA = calls.filter((c) => c.a);
        assert.equal(withA.length, 4, 'joint, activation-only and their controls carry A');
        for (const c of withA) assert.equal(c.a!.length, m * k);
        // The real A: the dump's rows, repeated past the 16 tokens.
        const real = withA.filter((c) => c.a!.subarray(0, 16 * k).every((v, i) => v === a16[i]));
        assert.equal(real.length, 2, 'joint and activation-only use the captured A');
        for (const c of real) for (let r = 0; r < m; r++) assert.equal(c.a![r * k + 5], a16[(r % 16) * k + 5]);
        // Controls: same nonzeros per 32×8 tile, other places.
        const control = withA.filter((c) => !real.includes(c));
        const realCounts = tileCounts(real[0].a!, m, k, 32, 8);
        for (const c of control) assert.deepEqual(tileCounts(c.a!, m, k, 32, 8), realCounts);
        // Activation-only and its control: a dense random B, not the weight.
        const weightValues = calls.find((x) => !x.a)!.b!.slice().sort().join();
        const denseB = withA.filter((c) => c.b!.slice().sort().join() !== weightValues);
        assert.equal(denseB.length, 2);
      }
      const jointRow = esmm.find((r) => r.m === '16' && r.a_source === `captured:${module}`)!;
      assert.equal(JSON.parse(jointRow.labels_json).a_tile_density, aTileDensity(a16, 16, 384).toFixed(4));
    } finally {
      cleanup();
    }
  });

  it('pairs GPT-2 Conv1D weights ([in, out], raw orientation) with their inputs', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = join(dir, 'gpt2');
      mkdirSync(model);
      await writeTinyGpt2(model);
      const dump = join(dir, 'd.safetensors');
      await captureCommand(model, { tokens: '1,2,3,4,5', out: dump }, () => {});
      const native = fakeNative();
      const out = join(dir, 'r.csv');
      await runCommand(model, { activations: dump, kernels: 'esmm', backend: 'cpu', out, cacheDir: join(dir, 'cache'), progress: false, runs: '1', warmup: '0', orientation: 'linear', device: '0', l2: 'cold', seed: '1', resume: false, overwrite: false }, { native });
      const rows = (parse(readFileSync(out, 'utf8'), { columns: true }) as Array<Record<string, string>>).filter((r) => r.kernel === 'esmm' && r.a_source.startsWith('captured:'));
      const joint = rows.filter((r) => JSON.parse(r.labels_json).variant === 'joint');
      assert.deepEqual(joint.map((r) => r.a_source).sort(), [0, 1].flatMap((l) => ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((m) => `captured:transformer.h.${l}.${m}`)).sort());
      const fcProj = joint.find((r) => r.a_source === 'captured:transformer.h.0.mlp.c_proj')!;
      assert.deepEqual([fcProj.orientation, fcProj.m, fcProj.k, fcProj.n], ['raw', '5', '32', '8']);
      const captured = await readActivationDump(dump);
      const call = native.calls.find((c) => c.k === 32 && c.a && c.b!.length === 32 * 8 && c.a.every((v, i) => v === captured.inputs.get('transformer.h.0.mlp.c_proj')!.data[i]));
      assert.ok(call, 'the c_proj call carries the captured input');
    } finally {
      cleanup();
    }
  });

  it('a weight whose module is not in the dump becomes a skipped row with the reason', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const dumpFile = join(dir, 'd.safetensors');
      await captureCommand(TINY, { tokens: '1,2,3', out: dumpFile }, () => {});
      const dump = await readActivationDumpIndex(dumpFile);
      const ref: TensorRef = { file: 'w.safetensors', name: 'model.layers.9.mlp.up_proj.weight', shape: [384, 128], dtype: 'F32', format: 'safetensors', labels: {} };
      const wrongK: TensorRef = { ...ref, name: 'model.layers.0.mlp.up_proj.weight', shape: [384, 64] };
      // A pruned tree's bare tensor: its layer label names the module.
      const bare: TensorRef = { ...ref, name: '', labels: { layer: 'model.layers.1.mlp.up_proj' } };
      const p = await pairActivations({ tensors: [ref, wrongK, bare], dump, orientation: 'linear', seed: 1, control: false });
      assert.deepEqual(new Set(p.pairs.map((x) => x.aSource)), new Set(['random', 'captured:model.layers.1.mlp.up_proj']));
      assert.match(p.skipped[0].reason, /no input\.<module> for model\.layers\.9\.mlp\.up_proj\.weight/);
      assert.match(p.skipped[1].reason, /input\.model\.layers\.0\.mlp\.up_proj has 128 features, B has K = 64/);
      await assert.rejects(runCommand(join(TINY, 'model.safetensors'), { control: 'random', kernels: 'esmm', orientation: 'linear', backend: 'cpu', device: '0', l2: 'cold', seed: '1', out: join(dir, 'x.csv'), resume: false, overwrite: false, progress: false }, { native: fakeNative() }), /--control needs --activations/);
      await assert.rejects(runCommand(join(TINY, 'model.safetensors'), { activations: dumpFile, aDir: dir, kernels: 'esmm', orientation: 'linear', backend: 'cpu', device: '0', l2: 'cold', seed: '1', out: join(dir, 'x.csv'), resume: false, overwrite: false, progress: false }, { native: fakeNative() }), /--activations and --a-dir exclude each other/);
    } finally {
      cleanup();
    }
  });
});
