/**
 * A few small shapes through every GPU entry point, for compute-sanitizer (scripts/gpu-check.sh).
 * Arguments name the kernels to run (default: every cuda kernel the addon has, and the forward
 * steps); `forward-ops` names capture's forward-pass kernels (kernels/forward_ops.cu) without
 * cuBLAS. Exits 1 when a kernel fails its check, so a wrong result and a sanitizer error both fail
 * the run.
 */
import { causalAttention, layerNorm, rmsNorm } from '../src/activations/forward-ops.js';
import { relativeError } from '../src/activations/relative-error.js';
import { runForward } from '../src/activations/run-forward.js';
import { applyRope, ropeFrequencies } from '../src/activations/rope-frequencies.js';
import type { LlamaConfig, Tensor } from '../src/activations/types.js';
import { loadNative } from '../src/native/index.js';
import type { DeviceTensor } from '../src/native/types.js';

const native = loadNative();
const args = process.argv.slice(2);
const forwardOps = args.length === 0 || args.includes('forward-ops');
const kernels = args.length > 0 ? args.filter((a) => a !== 'forward-ops') : (native.info().kernels.cuda ?? []);
const shapes: Array<[number, number, number, 'joint' | 'b-only', number]> = [
  [1, 1, 1, 'joint', 1],
  [33, 17, 65, 'joint', 0.5],
  [100, 300, 257, 'b-only', 0.25],
  // tf32x3-warp-splitk at 16 rows, k density .5, reading A as the pattern pass transposed it.
  [16, 4096, 1024, 'b-only', 0.5],
  [129, 1000, 77, 'joint', 0.125],
  // The one-launch GEMV (1 … 4 rows): K split, the last column group cut by N.
  [3, 300, 200, 'b-only', 0.5],
  // tf32x3-warp-splitk (9 … 128 rows, joint k density ≤ .3): K split 8 ways, the last B tile cut by N.
  [48, 2048, 200, 'b-only', 0.25],
  // From 256 rows below B density .3: A transposed by the pattern pass, read by tf32x3-warp / -klist.
  [300, 600, 100, 'joint', 0.25],
  [257, 1000, 96, 'b-only', 0.125],
  // The Hopper path where the build has it: operands swapped (40 rows), and 128-row tiles with K split.
  [40, 1000, 300, 'joint', 1],
  [200, 520, 300, 'b-only', 1],
];

let failed = 0;
for (const [m, k, n, mode, density] of kernels.length > 0 ? shapes : []) {
  const res = await native.benchmark({
    backend: 'cuda', m, k, n, seed: 3, synthetic: { mode, density }, kernels, warmup: 0, runs: 1, l2: 'hot',
  });
  for (const r of res.kernels) {
    console.log(`${m}×${k}×${n} ${mode} d=${density} ${r.id} ${r.variant ?? ''}: ${r.ok ? 'ok' : 'FAILED ' + r.error} rel err ${r.relErrFrobenius}`);
    if (!r.ok) failed++;
  }
}
for (const [rows, cols] of [[37, 19], [5, 1000]] as const) {
  const data = new Float32Array(rows * cols).map((_, i) => (i % 7 === 0 ? 1 : 0));
  for (const operand of ['A', 'B'] as const) {
    const gpu = await native.computePatterns({ data, rows, cols, operand, backend: 'cuda' });
    const cpu = await native.computePatterns({ data, rows, cols, operand, backend: 'cpu' });
    const same = gpu.length === cpu.length && gpu.every((x, i) => x === cpu[i]);
    console.log(`patterns ${operand} ${rows}×${cols}: ${same ? 'ok' : 'DIFFER'}`);
    if (!same) failed++;
  }
}

/** Seeded values in (−1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

function report(what: string, got: Float32Array, want: Float32Array, bar: number): void {
  const err = relativeError(got, want);
  const ok = got.length === want.length && err <= bar;
  console.log(`${what}: ${ok ? 'ok' : 'DIFFER'} rel err ${err}`);
  if (!ok) failed++;
}

if (forwardOps) {
  const dev = native.deviceTensors;
  const held: DeviceTensor[] = [];
  const up = async (data: Float32Array): Promise<DeviceTensor> => {
    const x = await dev.upload({ data });
    held.push(x);
    return x;
  };
  // 37 tokens (no multiple of any block), 4 query heads on 2 key/value heads of 12 columns.
  const [t, heads, kv, d] = [37, 4, 2, 12];
  const x = values(t * heads * d, 1);
  const w = values(heads * d, 2).map((v) => 1 + 0.1 * v);
  const b = values(heads * d, 3);
  report('rmsNorm', await dev.download({ x: await dev.rmsNorm({ x: await up(x), rows: t, cols: heads * d, weight: await up(w), eps: 1e-6 }) }), rmsNorm(x, t, heads * d, w, 1e-6), 1e-6);
  report('layerNorm', await dev.download({ x: await dev.layerNorm({ x: await up(x), rows: t, cols: heads * d, weight: await up(w), bias: await up(b), eps: 1e-5 }) }), layerNorm(x, t, heads * d, w, b, 1e-5), 1e-6);
  const inv = ropeFrequencies({ headDim: d, ropeTheta: 10000, ropeScaling: null });
  const roped = await up(x);
  await dev.rope({ x: roped, tokens: t, heads, headDim: d, invFreq: await up(inv) });
  const wantRope = x.slice();
  applyRope(wantRope, t, heads, d, inv);
  report('rope', await dev.download({ x: roped }), wantRope, 1e-6);
  const k = values(t * kv * d, 4);
  const v = values(t * kv * d, 5);
  for (const window of [null, 5]) {
    const got = await dev.attention({ q: await up(x), k: await up(k), v: await up(v), tokens: t, heads, kvHeads: kv, headDim: d, scale: 0.3, window });
    held.push(got);
    report(`attention window ${window ?? 'none'}`, await dev.download({ x: got }), causalAttention({ q: x, k, v, tokens: t, heads, kvHeads: kv, headDim: d, scale: 0.3, window }), 1e-5);
  }
  const gated = await dev.gatedActivation({ gate: await up(x), up: await up(x), act: 'silu' });
  const sliced = await dev.sliceColumns({ x: gated, rows: t, cols: heads * d, start: 5, width: 7 });
  const table = await up(values(50 * 8, 6));
  const embedded = await dev.embed({ table, tokens: [1, 49, 0, 7], hidden: 8, positions: await up(values(4 * 8, 7)) });
  await dev.activation({ x: embedded, act: 'gelu_new' });
  await dev.add({ x: embedded, y: embedded });
  held.push(gated, sliced, embedded);
  await dev.download({ x: sliced });
  await dev.download({ x: embedded });
  await dev.free({ tensors: held });

  // A whole device forward pass (cuBLAS projections included) against the CPU one.
  if (args.length === 0 && native.info().cublas !== undefined) {
    const c: LlamaConfig = {
      family: 'llama', modelType: 'llama', hidden: 48, intermediate: 80, layers: 2, heads, kvHeads: kv, headDim: d, vocab: 64,
      rmsEps: 1e-6, ropeTheta: 10000, ropeScaling: null, slidingWindow: null, hiddenAct: 'silu', tieEmbeddings: true,
    };
    const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [64, 48], 'model.norm.weight': [48] };
    for (let l = 0; l < 2; l++) {
      const p = `model.layers.${l}`;
      Object.assign(shapes, {
        [`${p}.input_layernorm.weight`]: [48], [`${p}.post_attention_layernorm.weight`]: [48],
        [`${p}.self_attn.q_proj.weight`]: [48, 48], [`${p}.self_attn.k_proj.weight`]: [24, 48], [`${p}.self_attn.v_proj.weight`]: [24, 48],
        [`${p}.self_attn.o_proj.weight`]: [48, 48], [`${p}.mlp.gate_proj.weight`]: [80, 48], [`${p}.mlp.up_proj.weight`]: [80, 48], [`${p}.mlp.down_proj.weight`]: [48, 80],
      });
    }
    const weights = new Map<string, Tensor>(
      Object.entries(shapes).map(([name, shape], i) => {
        const data = values(shape.reduce((a, b2) => a * b2, 1), 100 + i).map((val) => (name.includes('norm') ? 1 + 0.1 * val : 0.3 * val));
        return [name, { shape, data }];
      }),
    );
    const checkpoint = { get: (n: string) => weights.get(n), names: () => [...weights.keys()] };
    const tokens = Array.from({ length: t }, (_, i) => (i * 7) % 64);
    const cpu = await runForward({ config: c, weights: checkpoint, tokens });
    const gpu = await runForward({ config: c, weights: checkpoint, tokens, device: { tensors: native.deviceTensors, index: 0 } });
    report('device forward pass, logits', gpu, cpu, 1e-5);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
