import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';

import { Command } from 'commander';

import { registerScan, type ScanResult } from '../../src/commands/scan.js';
import { readTensorF32 } from '../../src/weights/index.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';

const tmp = tempDir('esmm-scan-');
after(() => tmp.cleanup());
// The command reports through process.exitCode; the test runner must not inherit it.
afterEach(() => {
  process.exitCode = undefined;
});

async function scan(args: string[]): Promise<{ out: string[]; err: string[]; code: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('esmm-bench').exitOverride();
  registerScan(program, { out: (l) => out.push(l), err: (l) => err.push(l) });
  await program.parseAsync(['scan', ...args], { from: 'user' });
  const code = typeof process.exitCode === 'number' ? process.exitCode : undefined;
  process.exitCode = undefined;
  return { out, err, code };
}

/** Zero 8×32 blocks counted the slow, obvious way. */
function zeroBlocks(d: Float32Array, rows: number, cols: number, bh: number, bw: number): number {
  let tiles = 0;
  let zero = 0;
  for (let r0 = 0; r0 < rows; r0 += bh) {
    for (let c0 = 0; c0 < cols; c0 += bw) {
      tiles++;
      let any = false;
      for (let r = r0; r < Math.min(rows, r0 + bh) && !any; r++) for (let c = c0; c < Math.min(cols, c0 + bw); c++) any ||= d[r * cols + c] !== 0;
      if (!any) zero++;
    }
  }
  return zero / tiles;
}

const expected = JSON.parse(readFileSync(join(SHARED_WEIGHTS, 'expected.json'), 'utf8')) as Record<
  string,
  { tensors?: Record<string, { zeros: number; shape: number[] }> }
>;

describe('esmm-bench scan', () => {
  it('--json on the pruned tree: exact element sparsities, labels and block sparsities', async () => {
    const root = join(SHARED_WEIGHTS, 'pruned-tree');
    const { out, err, code } = await scan([root, '--json']);
    assert.equal(code, 0);
    assert.deepEqual(err, []);
    const result = JSON.parse(out.join('\n')) as ScanResult;
    assert.equal(result.tensors.length, 42);
    assert.equal(result.summary.tensors, 42);
    assert.equal(result.summary.skipped, 0);
    for (const row of result.tensors) {
      const rel = row.file.slice(SHARED_WEIGHTS.length + 1);
      const e = expected[rel].tensors?.[''];
      assert.equal(row.zeros, e?.zeros, rel);
      assert.deepEqual(row.shape, e?.shape);
      assert.equal(row.elementSparsity, (e?.zeros ?? NaN) / row.numel, rel);
      // Group pruning rounds to whole groups: within one group of the target.
      assert.ok(Math.abs(row.elementSparsity - Number(row.labels.sparsity)) <= 16 / row.numel, rel);
      assert.equal(row.labels.pruner, 'magnitude');
      assert.match(row.labels.group, /^(8|16)$/);
      assert.match(row.labels.perm, /^(row|col)$/);
      const data = await readTensorF32(row);
      const [rows, cols] = row.shape;
      assert.equal(row.blockSparsityLinear, zeroBlocks(data, rows, cols, 32, 8), `${rel} linear`);
      assert.equal(row.blockSparsityRaw, zeroBlocks(data, rows, cols, 8, 32), `${rel} raw`);
    }
    // The gap the toolkit exists to measure: high element sparsity, far lower block sparsity.
    const down = result.tensors.find((r) => r.file.endsWith('grp_16/row_perm/sparsity_0.75/model.layers.0.mlp.down_proj_permuted.pt'));
    assert.equal(down?.blockSparsityLinear, 1 / 96);
    assert.equal(down?.blockSparsityRaw, 4 / 96);
  });

  it('scans every real checkpoint; 1-D tensors and scalars are "not a matrix", not a failure: exit 0', async () => {
    const { out, err, code } = await scan([SHARED_WEIGHTS]);
    assert.equal(code, 0);
    // 42 pruned + 1 + 1 labse + 7 edge-case 2-D + 15 × 4 tinystories (f32, bf16, f16, sharded).
    assert.equal(out.length, 114 + 1);
    assert.match(out.at(-1) ?? '', /^scanned 114 tensors, .* 0 skipped, 23 not a matrix, 0 failed$/);
    assert.deepEqual(err, []);
    const line = out.find((l) => l.includes('labse-dense/model.safetensors'));
    assert.equal(line, `${join(SHARED_WEIGHTS, 'labse-dense/model.safetensors')}  linear.weight  768×768  F32  elem 0.00%  block8x32 linear 0.00% raw 0.00%`);
  });

  it('--csv writes tensors and skips with label columns', async () => {
    const csv = join(tmp.dir, 'scan.csv');
    const { code } = await scan([join(SHARED_WEIGHTS, 'pt-edge-cases'), '--csv', csv]);
    assert.equal(code, 0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(
      lines[0],
      'status,file,tensor,shape,dtype,numel,zeros,element_sparsity,block_sparsity_linear,block_sparsity_raw,code,reason',
    );
    assert.equal(lines.length, 1 + 10 + 1);
    assert.ok(lines.some((l) => l.startsWith(`ok,${join(SHARED_WEIGHTS, 'pt-edge-cases', 'transposed_view.pt')},,384x128,F32,49152,0,0,0,0,,`)));
    assert.ok(lines.some((l) => l.startsWith('skipped,') && l.includes(',steps,,I64,') && l.includes('NOT_FLOAT')));
  });

  it('--labels adds user labels; a bad rules file or path is a usage error', async () => {
    const rules = join(tmp.dir, 'rules.json');
    writeFileSync(rules, JSON.stringify([{ regex: 'layers\\.(?<block>\\d+)\\.(?<kind>mlp|self_attn)' }]));
    const { out } = await scan([join(SHARED_WEIGHTS, 'pruned-tree', 'magnitude', 'grp_16'), '--labels', rules, '--json']);
    const result = JSON.parse(out.join('\n')) as ScanResult;
    assert.deepEqual(result.tensors[0].labels, {
      pruner: 'magnitude',
      group: '16',
      perm: 'row',
      sparsity: '0.75',
      layer: 'model.layers.0.mlp.down_proj',
      block: '0',
      kind: 'mlp',
    });
    writeFileSync(rules, '{');
    await assert.rejects(scan([SHARED_WEIGHTS, '--labels', rules]), { code: 'USAGE' });
    await assert.rejects(scan([join(tmp.dir, 'missing')]), { code: 'USAGE' });
  });

  it('a malformed file is one stderr line and the scan goes on', async () => {
    const dir = join(tmp.dir, 'mixed');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(dir);
    copyFileSync(join(SHARED_WEIGHTS, 'labse-dense', 'model.safetensors'), join(dir, 'a.safetensors'));
    writeFileSync(join(dir, 'b.safetensors'), Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x7b]));
    const { out, err, code } = await scan([dir]);
    assert.equal(code, 1);
    assert.equal(out.length, 2);
    assert.deepEqual(err.filter((l) => l.includes('b.safetensors')), [
      `skipped ${join(dir, 'b.safetensors')}: header length 65535 runs past the end of the file (9 bytes)`,
    ]);
  });
});
