import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { acquireScanKernels, releaseScanKernels } from '../../src/weights/wasm-scan-kernels.js';
import { fractionsOf, locateTensor, readTensorF32, ScanPool, scanTensorSparsity, tensorSparsity } from '../../src/weights/index.js';
import { tempDir } from '../helpers.js';
import { bf16Bits, f32Bytes, mapToU16, u16Bytes, writeSafetensors } from './fixtures.js';

const tmp = tempDir('esmm-weights-sparsity-');
after(() => tmp.cleanup());

/** Straightforward reference: visit every tile, look at every element. */
function reference(data: Float32Array, rows: number, cols: number, bh: number, bw: number): number {
  let zeroTiles = 0;
  let tiles = 0;
  for (let r0 = 0; r0 < rows; r0 += bh) {
    for (let c0 = 0; c0 < cols; c0 += bw) {
      tiles++;
      let any = false;
      for (let r = r0; r < Math.min(rows, r0 + bh); r++) {
        for (let c = c0; c < Math.min(cols, c0 + bw); c++) if (data[r * cols + c] !== 0) any = true;
      }
      if (!any) zeroTiles++;
    }
  }
  return zeroTiles / tiles;
}

function referenceAll(data: Float32Array, rows: number, cols: number) {
  return {
    elementSparsity: data.filter((v) => v === 0).length / data.length,
    blockSparsityLinear: reference(data, rows, cols, 32, 8),
    blockSparsityRaw: reference(data, rows, cols, 8, 32),
  };
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Random matrix with zeroed 32×8 and 8×32 blocks, scattered zeros, -0 and a NaN. */
function pruned(rows: number, cols: number, seed: number): Float32Array {
  const rand = rng(seed);
  const d = new Float32Array(rows * cols);
  for (let i = 0; i < d.length; i++) d[i] = rand() < 0.3 ? 0 : Math.round((rand() - 0.5) * 64) / 16 || 0.25;
  for (let r0 = 0; r0 < rows; r0 += 32) {
    for (let c0 = 0; c0 < cols; c0 += 8) {
      if (rand() < 0.4) for (let r = r0; r < Math.min(rows, r0 + 32); r++) for (let c = c0; c < Math.min(cols, c0 + 8); c++) d[r * cols + c] = 0;
    }
  }
  for (let r0 = 0; r0 < rows; r0 += 8) {
    for (let c0 = 0; c0 < cols; c0 += 32) {
      if (rand() < 0.3) for (let r = r0; r < Math.min(rows, r0 + 8); r++) for (let c = c0; c < Math.min(cols, c0 + 32); c++) d[r * cols + c] = -0;
    }
  }
  d[Math.floor(rand() * d.length)] = Number.NaN;
  return d;
}

describe('tensorSparsity', () => {
  it('counts 8×32 blocks for both orientations, ragged edges included', () => {
    // 40×20: linear tiles 2×3 = 6 (32-row bands × 8-col groups), raw tiles 5×1 = 5.
    const rows = 40;
    const cols = 20;
    const d = new Float32Array(rows * cols);
    d[0] = 1; // linear tile (0,0); raw tile (0,0)
    d[33 * cols + 17] = Number.NaN; // linear tile (1,2); raw tile (4,0)
    const s = tensorSparsity(d, rows, cols);
    assert.equal(s.elementSparsity, (800 - 2) / 800);
    assert.equal(s.blockSparsityLinear, 4 / 6);
    assert.equal(s.blockSparsityRaw, 3 / 5);
  });

  it('treats -0 as zero and NaN/Inf as nonzero', () => {
    const s = tensorSparsity(new Float32Array([-0, 0, Infinity, Number.NaN]), 2, 2);
    assert.equal(s.elementSparsity, 0.5);
    assert.equal(s.blockSparsityLinear, 0);
  });

  it('all zero and dense extremes', () => {
    assert.deepEqual(tensorSparsity(new Float32Array(64 * 64), 64, 64), { elementSparsity: 1, blockSparsityLinear: 1, blockSparsityRaw: 1 });
    assert.deepEqual(tensorSparsity(new Float32Array(64 * 64).fill(1), 64, 64), {
      elementSparsity: 0,
      blockSparsityLinear: 0,
      blockSparsityRaw: 0,
    });
  });

  it('matches the reference on random pruned matrices', () => {
    for (const [rows, cols] of [
      [33, 9],
      [64, 256],
      [100, 37],
      [7, 300],
    ]) {
      const d = pruned(rows, cols, rows * cols);
      assert.deepEqual(tensorSparsity(d, rows, cols), referenceAll(d, rows, cols), `${rows}×${cols}`);
    }
  });
});

describe('scanTensorSparsity (raw-word streaming)', () => {
  it('has WebAssembly SIMD here, so the fast path is what the tests below cover', () => {
    const k = acquireScanKernels(65536);
    assert.ok(k);
    releaseScanKernels(k);
  });

  // Shapes hit: the SIMD path (cols % 8 == 0), the scalar path (odd cols), several 512 KiB
  // read chunks (400 rows × 2056 bf16 = 1.6 MB), and partial last bands.
  for (const [rows, cols] of [
    [45, 136],
    [37, 33],
    [400, 2056],
  ]) {
    for (const dtype of ['BF16', 'F16', 'F32']) {
      it(`${dtype} ${rows}×${cols} equals the float32 reference`, async () => {
        const d = pruned(rows, cols, rows + cols);
        const file = join(tmp.dir, `${dtype}-${rows}x${cols}.safetensors`);
        // The F16 payload only needs the same zero/nonzero pattern: 0x3c00 is 1.0, NaN stays NaN.
        const halves = mapToU16(d, (v) => (dtype === 'BF16' ? bf16Bits(v) : Number.isNaN(v) ? 0x7e00 : Object.is(v, -0) ? 0x8000 : v === 0 ? 0 : 0x3c00));
        writeSafetensors(file, [{ name: 'w', dtype, shape: [rows, cols], data: dtype === 'F32' ? f32Bytes(d) : u16Bytes(halves) }]);
        const counts = await scanTensorSparsity(await locateTensor({ file, name: 'w' }));
        const viaF32 = await readTensorF32({ file, name: 'w' });
        assert.deepEqual(fractionsOf(counts), referenceAll(viaF32, rows, cols));
        assert.equal(counts.zeros, viaF32.filter((v) => v === 0).length);
      });
    }
  }
});

describe('ScanPool', () => {
  it('worker threads give the same counts as the in-thread scan, over many slices', async () => {
    const rows = 1000;
    const cols = 1024;
    const d = pruned(rows, cols, 7);
    const file = join(tmp.dir, 'pool.safetensors');
    writeSafetensors(file, [{ name: 'w', dtype: 'BF16', shape: [rows, cols], data: u16Bytes(mapToU16(d, bf16Bits)) }]);
    const loc = await locateTensor({ file, name: 'w' });
    const pool = new ScanPool(2);
    try {
      // 64 KiB slices: 32-row slices, the last one partial (1000 = 31 × 32 + 8).
      const [viaPool, inThread] = await Promise.all([
        scanTensorSparsity(loc, { pool, sliceBytes: 65536 }),
        scanTensorSparsity(loc, { sliceBytes: 65536 }),
      ]);
      assert.deepEqual(viaPool, inThread);
      assert.deepEqual(fractionsOf(viaPool), referenceAll(await readTensorF32(loc), rows, cols));
      await assert.rejects(
        pool.run({ file: join(tmp.dir, 'gone.safetensors'), byteStart: 0, rows: 32, cols: 8, elementBytes: 2, tensor: 'w' }),
        /ENOENT/,
      );
    } finally {
      await pool.close();
    }
  });
});
