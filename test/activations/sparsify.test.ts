import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { aTileDensity } from '../../src/activations/a-tile-density.js';
import { applySparsifier } from '../../src/activations/apply-sparsifier.js';
import { calibrateThreshold } from '../../src/activations/calibrate-threshold.js';
import { logitQuality } from '../../src/activations/logit-quality.js';
import { parseSparsifier } from '../../src/activations/parse-sparsifier.js';
import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { captureCommand } from '../../src/commands/capture.js';
import { sparsifyCommand } from '../../src/commands/sparsify.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { seededRandom } from './fixtures.js';

const TINY = join(SHARED_WEIGHTS, 'tinystories-656k');
const TOKENS = '1,432,77,1203,9,15,600,1999,2,45,300,301,302,1000,5,7';

function zeros(x: Float32Array): number {
  return x.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
}

describe('activation sparsifiers', () => {
  it('parses native, teal:<s> and block:<s>, and refuses anything else', () => {
    assert.deepEqual(parseSparsifier('native'), { method: 'native' });
    assert.deepEqual(parseSparsifier('teal:0.4'), { method: 'teal', sparsity: 0.4 });
    assert.deepEqual(parseSparsifier('block:0.5'), { method: 'block', sparsity: 0.5, tileRows: 32 });
    for (const bad of ['teal', 'teal:1', 'teal:-0.1', 'block:x', 'relu']) assert.throws(() => parseSparsifier(bad), /--method takes native/);
  });

  it('teal zeroes the requested share of entries by magnitude', () => {
    const rand = seededRandom(3);
    const x = Float32Array.from({ length: 64 * 40 }, () => rand());
    const s = { method: 'teal', sparsity: 0.3 } as const;
    const y = applySparsifier(x, 64, 40, s, calibrateThreshold(x, 64, 40, s));
    assert.equal(zeros(y), Math.ceil(0.3 * x.length));
    const kept = y.filter((v) => v !== 0).map(Math.abs);
    const dropped = x.filter((_, i) => y[i] === 0).map(Math.abs);
    assert.ok(Math.min(...kept) > Math.max(...dropped), 'only the smallest magnitudes are dropped');
  });

  it('block zeroes whole (32-row tile, k) segments, so A pattern density falls by s', () => {
    const rand = seededRandom(4);
    const rows = 70; // two full tiles and a ragged one
    const cols = 24;
    const x = Float32Array.from({ length: rows * cols }, () => rand());
    const s = parseSparsifier('block:0.5');
    const y = applySparsifier(x, rows, cols, s, calibrateThreshold(x, rows, cols, s));
    assert.equal(aTileDensity(x, rows, cols), 1);
    assert.equal(aTileDensity(y, rows, cols), 1 - Math.ceil(0.5 * 3 * cols) / (3 * cols));
    // Element-wise the same share would leave almost every segment with a nonzero.
    const t = { method: 'teal', sparsity: 0.5 } as const;
    assert.ok(aTileDensity(applySparsifier(x, rows, cols, t, calibrateThreshold(x, rows, cols, t)), rows, cols) > 0.9);
  });

  it('logit quality: identical logits cost nothing; a flipped argmax is counted and drifts', () => {
    const dense = Float32Array.from([1, 2, 3, 0, 0, 5]);
    assert.deepEqual(logitQuality(dense, dense, 2, 3), { maxLogitDrift: 0, klDivergence: 0, top1Agreement: 1 });
    const sparse = Float32Array.from([1, 4, 3, 0, 0, 5]);
    const q = logitQuality(dense, sparse, 2, 3);
    assert.equal(q.maxLogitDrift, 2);
    assert.equal(q.top1Agreement, 0.5);
    assert.ok(q.klDivergence > 0);
  });
});

describe('sparsify command on tinystories-656k', () => {
  it('native keeps the dump; teal and block record thresholds, sparsity and the quality cost', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const dense = join(dir, 'dense.safetensors');
      await captureCommand(TINY, { tokens: TOKENS, out: dense }, () => {});
      const denseDump = await readActivationDump(dense);

      const native = await sparsifyCommand(dense, { method: 'native', model: TINY, out: join(dir, 'n.safetensors') }, () => {});
      assert.deepEqual(native.quality, { maxLogitDrift: 0, klDivergence: 0, top1Agreement: 1 });
      const nativeDump = await readActivationDump(join(dir, 'n.safetensors'));
      for (const [m, t] of denseDump.inputs) assert.deepEqual(nativeDump.inputs.get(m)!.data, t.data, m);

      const lines: string[] = [];
      const teal = await sparsifyCommand(dense, { method: 'teal:0.5', model: TINY, json: true }, (l) => lines.push(l));
      const out = join(dir, 'dense.teal-0.5.safetensors');
      assert.equal((JSON.parse(lines[0]) as { out: string }).out, out, 'default output name');
      // The first linear input comes before any sparsified layer, so its share is exact.
      assert.equal(teal.modules[0].elementSparsity, 0.5);
      assert.ok(teal.quality.klDivergence > 0 && teal.quality.maxLogitDrift > 0);
      const tealDump = await readActivationDump(out);
      assert.equal(tealDump.metadata.sparsifier, 'teal');
      assert.equal(JSON.parse(tealDump.metadata.sparsifier_settings).target_sparsity, 0.5);
      assert.equal(tealDump.metadata.model, 'tinystories-656k');
      assert.deepEqual(Object.keys(JSON.parse(tealDump.metadata.thresholds)).sort(), [...denseDump.inputs.keys()].sort());
      assert.equal(JSON.parse(tealDump.metadata.quality).top1_agreement, teal.quality.top1Agreement);
      const q0 = tealDump.inputs.get('model.layers.0.self_attn.q_proj')!;
      assert.equal(zeros(q0.data), q0.data.length / 2);

      const block = await sparsifyCommand(dense, { method: 'block:0.5', model: TINY, out: join(dir, 'b.safetensors') }, () => {});
      assert.equal(block.modules[0].aTileDensity, 0.5);
      assert.equal(block.modules[0].elementSparsity, 0.5, '16 tokens: one tile, each zeroed column segment is 16 entries');
    } finally {
      cleanup();
    }
  });

  it('refuses a file that is not an activation dump, and a dump of another model or a sparsified one', async () => {
    await assert.rejects(sparsifyCommand(join(TINY, 'model.safetensors'), { method: 'teal:0.5', model: TINY }, () => {}), /model\.safetensors: is not an activation dump/);
    const { dir, cleanup } = tempDir();
    try {
      const dense = join(dir, 'dense.safetensors');
      await captureCommand(TINY, { tokens: '1,2,3', out: dense }, () => {});
      const teal = join(dir, 'teal.safetensors');
      await sparsifyCommand(dense, { method: 'teal:0.5', model: TINY, out: teal }, () => {});
      await assert.rejects(sparsifyCommand(teal, { method: 'teal:0.5', model: TINY, out: join(dir, 'x.safetensors') }, () => {}), /teal\.safetensors: input\.model\.layers\.0\.self_attn\.q_proj differs from the forward pass/);
    } finally {
      cleanup();
    }
  });
});
