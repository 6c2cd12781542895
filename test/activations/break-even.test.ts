import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { breakEven } from '../../src/output/break-even.js';
import { formatBreakEven } from '../../src/output/format-break-even.js';
import type { CsvRecord } from '../../src/output/result-csv.js';
import { captureCommand } from '../../src/commands/capture.js';
import { reportCommand } from '../../src/commands/report.js';
import { runCommand } from '../../src/commands/run.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { fakeNative } from '../pipeline/fake-native.js';

function row(tensor: string, m: number, esmmMs: number, speedup: number, extra: Partial<CsvRecord> = {}): CsvRecord {
  return {
    source_file: '/w/model.safetensors',
    tensor,
    labels_json: JSON.stringify({ layer: tensor, variant: 'joint' }),
    m: String(m),
    a_source: `captured:${tensor}`,
    kernel: 'esmm',
    status: 'ok',
    compute_ms_median: String(esmmMs),
    speedup_compute: String(speedup),
    ...extra,
  };
}

describe('break-even', () => {
  const records = [
    row('a', 16, 1, 2),
    row('a', 64, 2, 1.5),
    row('a', 256, 8, 0.5),
    row('b', 16, 1, 3),
    row('b', 256, 2, 1.1),
    row('c', 16, 1, 0.9),
    row('c', 256, 4, 0.8),
    // Slower, then faster again: it has not stopped beating dense in the measured range.
    row('d', 16, 1, 0.5),
    row('d', 64, 1, 1.2),
    { ...row('a', 64, 2, 9), kernel: 'cublas' },
  ];

  it('finds, per layer, the M where the speedup crosses 1 (interpolated in log M), or says it is outside the range', () => {
    const r = breakEven(records);
    assert.equal(r.speedupColumn, 'speedup_compute');
    const [a, b, c, d] = r.layers;
    assert.equal(d.beyond, 'above');
    // log 1.5 / (log 1.5 − log 0.5) of the way from 64 to 256 in log M.
    const f = Math.log(1.5) / (Math.log(1.5) - Math.log(0.5));
    assert.ok(Math.abs(a.breakEvenM! - 64 * 4 ** f) < 1e-9);
    assert.equal(b.breakEvenM, null);
    assert.equal(b.beyond, 'above');
    assert.equal(c.beyond, 'below');
    const md = formatBreakEven(r, 'test');
    assert.match(md, /\| b \| 3\.00× \|  \| 1\.10× \| > 256 \|/);
    assert.match(md, /\| c \| 0\.90× \|  \| 0\.80× \| < 16 \|/);
  });

  it('projects decode and prefill over every layer, dense = ESMM × speedup, interpolating between measured Ms', () => {
    const r = breakEven(records, { decodeM: 16, prefill: 64 });
    const decode = r.projection.find((p) => p.phase === 'decode')!;
    assert.equal(decode.layers, 4);
    assert.equal(decode.esmmMs, 4);
    assert.equal(decode.denseMs, 2 + 3 + 0.9 + 0.5);
    const prefill = r.projection.find((p) => p.phase === 'prefill')!;
    // a measured at 64; b and c interpolated linearly between 16 and 256.
    const t = (64 - 16) / (256 - 16);
    assert.ok(Math.abs(prefill.esmmMs - (2 + (1 + t) + (1 + 3 * t) + 1)) < 1e-9);
    assert.ok(Math.abs(prefill.denseMs - (3 + (3 + (2.2 - 3) * t) + (0.9 + (3.2 - 0.9) * t) + 1.2)) < 1e-9);
    const outside = breakEven(records, { prefill: 1000 }).projection.find((p) => p.phase === 'prefill')!;
    assert.equal(outside.missing, 4);
  });

  it("a pruned tree's folder is one model: its per-layer files (each tensor named weight) sum into one projection", () => {
    const tree = '/t/magnitude/grp_16/col_perm/sparsity_0.5';
    const layerRow = (layer: string, m: number, esmmMs: number, speedup: number): CsvRecord =>
      row('weight', m, esmmMs, speedup, {
        source_file: `${tree}/${layer}.safetensors`,
        labels_json: JSON.stringify({ layer, module: layer, pruner: 'magnitude', sparsity: '0.5', variant: 'joint' }),
      });
    const r = breakEven([layerRow('model.layers.0.mlp.up_proj', 16, 1, 2), layerRow('model.layers.1.mlp.up_proj', 16, 3, 0.5)]);
    assert.deepEqual(r.layers.map((l) => l.layer), ['model.layers.0.mlp.up_proj', 'model.layers.1.mlp.up_proj']);
    assert.equal(new Set(r.layers.map((l) => l.scenario)).size, 1);
    assert.match(r.layers[0]!.scenario, /^sparsity_0\.5 a=captured /);
    const decode = r.projection.find((p) => p.phase === 'decode')!;
    assert.equal(decode.layers, 2);
    assert.equal(decode.esmmMs, 4);
    assert.equal(decode.denseMs, 2 + 1.5);
  });

  it('prefers the best-dense speedup column when rows carry it', () => {
    const r = breakEven(records.map((x) => ({ ...x, speedup_best_dense_compute: '0.5' })));
    assert.equal(r.speedupColumn, 'speedup_best_dense_compute');
    assert.ok(r.layers.every((l) => l.beyond === 'below'));
  });

  it('report --break-even writes break-even.md and its plot', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const tiny = join(SHARED_WEIGHTS, 'tinystories-656k');
      const dump = join(dir, 'd.safetensors');
      await captureCommand(tiny, { tokens: '1,2,3,4', out: dump }, () => {});
      const out = join(dir, 'r.csv');
      await runCommand(
        join(tiny, 'model.safetensors'),
        { activations: dump, m: '4,64', kernels: 'esmm', backend: 'cpu', out, cacheDir: join(dir, 'cache'), progress: false, runs: '1', warmup: '0', filter: ['layers\\.0\\.mlp'], orientation: 'linear', device: '0', l2: 'cold', seed: '1', resume: false, overwrite: false },
        { native: fakeNative() },
      );
      const report = await reportCommand(out, { breakEven: true, prefill: '64' });
      const md = readFileSync(join(dir, 'r-report', 'break-even.md'), 'utf8');
      assert.ok(report.markdown.includes(md));
      assert.match(md, /\| model\.safetensors a=captured b_source=real variant=joint \| prefill \| 64 \| 3 \|/);
      assert.ok(existsSync(join(dir, 'r-report', 'break-even.png')) && existsSync(join(dir, 'r-report', 'break-even.svg')));
      await assert.rejects(reportCommand(out, { breakEven: true, prefill: '0' }), /--prefill must be a positive integer/);
    } finally {
      cleanup();
    }
  });
});
