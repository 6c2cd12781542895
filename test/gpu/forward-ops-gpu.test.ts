/**
 * deviceTensors' steps (kernels/forward_ops.cu, cuBLAS for linear) against the CPU path's steps
 * (src/activations/forward-ops.ts, rope-frequencies.ts, matmulCpu) on random inputs: grouped-query
 * and multi-head attention, head sizes from 6 to 256, token counts that are not multiples of any
 * block size, a sliding window, a sequence long enough that attention opts in to more than 48 KiB of
 * shared memory; and the handle rules. Skipped, with the reason printed, without a CUDA device
 * (linear also without cuBLAS).
 *
 * Bars: "max rel" is max |got − want| / max |want|. Norms, RoPE, activations and the embedding
 * compute as the CPU path does (float64 inside, the same roundings), so they must agree to 1e-6
 * (in practice the last bit of a few elements at most); add and slicing are exact; linear
 * (float32 SGEMM against float64 accumulation) and attention (float32) to 1e-5.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { activation, addBias, addInPlace, causalAttention, layerNorm, rmsNorm } from '../../src/activations/forward-ops.js';
import { matmulCpu } from '../../src/activations/matmul-cpu.js';
import { maxAbsRelativeError, relativeError } from '../../src/activations/relative-error.js';
import { applyRope, ropeFrequencies } from '../../src/activations/rope-frequencies.js';
import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import type { DeviceActivation, DeviceTensor } from '../../src/native/types.js';
import { randomMatrix } from '../native/reference.js';

const native = loadNative();
const info = native.info();
const dev = native.deviceTensors;
const skip = hasCuda(native) ? false : `no CUDA device: ${info.backends.includes('cuda') ? (info.cuda?.error ?? 'none found') : 'addon built without CUDA'}`;
const skipLinear = skip || (info.cublas === undefined ? 'addon built without cuBLAS: linear multiplies with cuBLAS SGEMM' : false);

function maxRel(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length, 'length');
  return maxAbsRelativeError(got, want);
}

function differing(got: Float32Array, want: Float32Array): number {
  let n = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) n++;
  return n;
}

function assertClose(got: Float32Array, want: Float32Array, bar: number, what: string, t?: { diagnostic: (s: string) => void }): void {
  const m = maxRel(got, want);
  const fro = relativeError(got, want);
  t?.diagnostic(`${what}: max rel ${m.toExponential(2)}, rel Frobenius ${fro.toExponential(2)}, ${differing(got, want)} of ${want.length} elements not bit-identical`);
  assert.ok(m <= bar && fro <= bar, `${what}: max rel ${m.toExponential(2)}, rel Frobenius ${fro.toExponential(2)} (bar ${bar})`);
}

/** Uploads, runs fn on the handles, downloads its result (or the first input, for in-place steps) and frees everything. */
async function onDevice(inputs: Float32Array[], fn: (xs: DeviceTensor[]) => Promise<DeviceTensor | void>): Promise<Float32Array> {
  const xs: DeviceTensor[] = [];
  try {
    for (const data of inputs) xs.push(await dev.upload({ data }));
    const y = await fn(xs);
    if (y !== undefined) xs.push(y);
    return await dev.download({ x: y ?? xs[0] });
  } finally {
    await dev.free({ tensors: xs });
  }
}

const scaled = (x: Float32Array, s: number, around = 0): Float32Array => x.map((v) => around + v * s);

describe('gpu forward steps against the CPU path', { skip }, () => {
  it('embed: token rows, with and without learned positions (exact)', async () => {
    const vocab = 1000;
    const h = 96;
    const table = randomMatrix(vocab, h, 1);
    const positions = randomMatrix(64, h, 2);
    const tokens = [0, 999, 5, 5, 17, 512, 3, 998, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29];
    const plain = Float32Array.from({ length: tokens.length * h }, (_, i) => table[tokens[Math.floor(i / h)] * h + (i % h)]);
    const withPos = plain.map((v, i) => v + positions[i]);
    assert.deepEqual(await onDevice([table], ([t]) => dev.embed({ table: t, tokens, hidden: h })), plain);
    assert.deepEqual(await onDevice([table, positions], ([t, p]) => dev.embed({ table: t, tokens, hidden: h, positions: p })), withPos);
    await assert.rejects(
      onDevice([table], ([t]) => dev.embed({ table: t, tokens: [1, 1000], hidden: h })),
      { code: 'USAGE', message: /token id 1000 is outside the table's 1000 rows/ },
    );
  });

  it('rmsNorm: hidden rows and per-head rows (q/k norms)', async (t) => {
    for (const [rows, cols] of [[37, 4096], [37 * 8, 16], [1, 1], [5, 11008]] as const) {
      const x = scaled(randomMatrix(rows, cols, rows + cols), 3);
      const w = scaled(randomMatrix(1, cols, 7), 0.2, 1);
      const want = rmsNorm(x, rows, cols, w, 1e-6);
      const got = await onDevice([x, w], ([xd, wd]) => dev.rmsNorm({ x: xd, rows, cols, weight: wd, eps: 1e-6 }));
      assertClose(got, want, 1e-6, `rmsNorm ${rows}×${cols}`, t);
    }
  });

  it('layerNorm: GPT-2 rows', async (t) => {
    for (const [rows, cols] of [[41, 768], [3, 8], [1, 1600]] as const) {
      const x = scaled(randomMatrix(rows, cols, rows * cols), 2, 0.5);
      const w = scaled(randomMatrix(1, cols, 8), 0.2, 1);
      const b = scaled(randomMatrix(1, cols, 9), 0.1);
      const want = layerNorm(x, rows, cols, w, b, 1e-5);
      const got = await onDevice([x, w, b], ([xd, wd, bd]) => dev.layerNorm({ x: xd, rows, cols, weight: wd, bias: bd, eps: 1e-5 }));
      assertClose(got, want, 1e-6, `layerNorm ${rows}×${cols}`, t);
    }
  });

  it('rope: positions up to 3000, llama3 and linear rope_scaling, odd half head sizes', async (t) => {
    const cases = [
      { tokens: 3001, heads: 8, headDim: 128, scaling: { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 }, theta: 500000 },
      { tokens: 77, heads: 32, headDim: 64, scaling: { type: 'linear' as const, factor: 2 }, theta: 10000 },
      { tokens: 20, heads: 3, headDim: 6, scaling: null, theta: 500 },
    ];
    for (const c of cases) {
      const inv = ropeFrequencies({ headDim: c.headDim, ropeTheta: c.theta, ropeScaling: c.scaling });
      const x = randomMatrix(c.tokens, c.heads * c.headDim, c.tokens);
      const want = x.slice();
      applyRope(want, c.tokens, c.heads, c.headDim, inv);
      const got = await onDevice([x, inv], ([xd, id]) => dev.rope({ x: xd, tokens: c.tokens, heads: c.heads, headDim: c.headDim, invFreq: id }));
      assertClose(got, want, 1e-6, `rope ${c.tokens} tokens × ${c.heads} heads × ${c.headDim}`, t);
    }
  });

  it('attention: GQA, MHA, head sizes 6 to 256, a window, one token, and 13000 tokens (over 48 KiB of scores)', async (t) => {
    const cases = [
      { tokens: 333, heads: 32, kvHeads: 8, d: 128, window: null },
      { tokens: 257, heads: 12, kvHeads: 12, d: 64, window: null },
      { tokens: 20, heads: 4, kvHeads: 2, d: 6, window: null },
      { tokens: 100, heads: 2, kvHeads: 1, d: 256, window: null },
      { tokens: 200, heads: 4, kvHeads: 2, d: 32, window: 37 },
      { tokens: 1, heads: 8, kvHeads: 4, d: 16, window: null },
      { tokens: 13000, heads: 1, kvHeads: 1, d: 16, window: null },
    ];
    for (const c of cases) {
      // q scaled up so the softmax is peaked, not flat.
      const q = scaled(randomMatrix(c.tokens, c.heads * c.d, 11 + c.tokens), 3);
      const k = randomMatrix(c.tokens, c.kvHeads * c.d, 12 + c.tokens);
      const v = randomMatrix(c.tokens, c.kvHeads * c.d, 13 + c.tokens);
      const scale = 1 / Math.sqrt(c.d);
      const want = causalAttention({ q, k, v, tokens: c.tokens, heads: c.heads, kvHeads: c.kvHeads, headDim: c.d, scale, window: c.window });
      const got = await onDevice([q, k, v], ([qd, kd, vd]) =>
        dev.attention({ q: qd, k: kd, v: vd, tokens: c.tokens, heads: c.heads, kvHeads: c.kvHeads, headDim: c.d, scale, window: c.window }),
      );
      assertClose(got, want, 1e-5, `attention ${c.tokens} tokens, ${c.heads}/${c.kvHeads} heads × ${c.d}${c.window ? `, window ${c.window}` : ''}`, t);
    }
  });

  it('activations in place and the gated product, every supported function', async (t) => {
    const n = 10007;
    const x = scaled(randomMatrix(1, n, 21), 8);
    const up = scaled(randomMatrix(1, n, 22), 2);
    for (const act of ['silu', 'relu', 'gelu', 'gelu_new'] as DeviceActivation[]) {
      const f = activation(act);
      const want = x.map((v) => f(v));
      assertClose(await onDevice([x], ([xd]) => dev.activation({ x: xd, act })), want, 1e-6, `activation ${act}`, t);
      const gated = x.map((v, i) => Math.fround(f(v)) * up[i]);
      assertClose(await onDevice([x, up], ([g, u]) => dev.gatedActivation({ gate: g, up: u, act })), gated, 1e-6, `gatedActivation ${act}`, t);
    }
  });

  it('add and sliceColumns (exact)', async () => {
    const a = randomMatrix(37, 300, 31);
    const b = randomMatrix(37, 300, 32);
    const sum = a.slice();
    addInPlace(sum, b);
    assert.deepEqual(await onDevice([a, b], ([ad, bd]) => dev.add({ x: ad, y: bd })), sum);
    const cols = 3 * 96;
    const qkv = randomMatrix(29, cols, 33);
    for (const start of [0, 96, 192]) {
      const want = Float32Array.from({ length: 29 * 96 }, (_, i) => qkv[Math.floor(i / 96) * cols + start + (i % 96)]);
      assert.deepEqual(await onDevice([qkv], ([x]) => dev.sliceColumns({ x, rows: 29, cols, start, width: 96 })), want);
    }
  });

  it('the handle rules: shapes checked, unknown handles refused, frees tolerant, an absent device NO_DEVICE', async () => {
    const x = await dev.upload({ data: new Float32Array(12) });
    const w = await dev.upload({ data: new Float32Array(4) });
    try {
      await assert.rejects(dev.rmsNorm({ x, rows: 2, cols: 4, weight: w, eps: 1e-6 }), { code: 'SHAPE', message: /^params\.x holds 12 elements; 2×4 needs 8$/ });
      await assert.rejects(dev.add({ x, y: w }), { code: 'SHAPE', message: /^params\.y holds 4 elements; 1×12 needs 12$/ });
      await assert.rejects(dev.download({ x: 987654321 }), { code: 'USAGE', message: /no device tensor 987654321/ });
      await assert.rejects(dev.upload({ data: new Float32Array(1), device: 1023 }), (err: unknown) => {
        assert.ok(err instanceof EsmmError);
        assert.equal(err.code, 'NO_DEVICE', err.message);
        return true;
      });
      assert.deepEqual(await dev.download({ x: w }), new Float32Array(4), 'the device still works');
    } finally {
      await dev.free({ tensors: [x, w, x, 987654321] });
    }
    await assert.rejects(dev.download({ x }), { code: 'USAGE', message: /freed, or lost/ });
  });
});

describe('gpu linear (cuBLAS SGEMM, plain float32) against matmulCpu', { skip: skipLinear }, () => {
  it('nn.Linear and Conv1D layouts, with and without a bias', async (t) => {
    for (const [rows, k, n] of [[37, 300, 129], [1, 4096, 1024], [5, 11008, 96], [333, 128, 2048]] as const) {
      const x = randomMatrix(rows, k, rows + k);
      const bias = randomMatrix(1, n, n);
      for (const layout of ['out-in', 'in-out'] as const) {
        const w = layout === 'out-in' ? randomMatrix(n, k, 3 * n + k) : randomMatrix(k, n, 3 * n + k);
        const want = await matmulCpu({ x, m: rows, k, w, n, layout });
        const got = await onDevice([x, w], ([xd, wd]) => dev.linear({ x: xd, rows, k, weight: wd, n, layout }));
        assertClose(got, want, 1e-5, `linear ${rows}×${k}·${layout} → ${n}`, t);
        addBias(want, n, bias);
        const withBias = await onDevice([x, w, bias], ([xd, wd, bd]) => dev.linear({ x: xd, rows, k, weight: wd, n, layout, bias: bd }));
        assertClose(withBias, want, 1e-5, `linear ${rows}×${k}·${layout} → ${n} + bias`, t);
      }
    }
  });
});
