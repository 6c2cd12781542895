/**
 * A few small shapes through every GPU entry point, for compute-sanitizer (scripts/gpu-check.sh).
 * Arguments name the kernels to run (default: every cuda kernel the addon has). Exits 1 when a
 * kernel fails its check, so a wrong result and a sanitizer error both fail the run.
 */
import { loadNative } from '../src/native/index.js';

const native = loadNative();
const kernels = process.argv.length > 2 ? process.argv.slice(2) : (native.info().kernels.cuda ?? []);
const shapes: Array<[number, number, number, 'joint' | 'b-only', number]> = [
  [1, 1, 1, 'joint', 1],
  [33, 17, 65, 'joint', 0.5],
  [100, 300, 257, 'b-only', 0.25],
  [16, 4096, 1024, 'b-only', 0.5],
  [129, 1000, 77, 'joint', 0.125],
  // The Hopper path where the build has it: operands swapped (40 rows), and 128-row tiles with K split.
  [40, 1000, 300, 'joint', 1],
  [200, 520, 300, 'b-only', 1],
];

let failed = 0;
for (const [m, k, n, mode, density] of shapes) {
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
process.exitCode = failed > 0 ? 1 : 0;
