import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { kernelRoles } from '../../src/bench/kernel-roles.js';
import type { BenchmarkResult, KernelResult } from '../../src/native/types.js';
import { measureKernel, verificationFailure } from '../../src/output/result-rows.js';
import { FAKE_REGISTRY } from '../pipeline/fake-native.js';

const stats = (ms: number, n = 5) => ({ median: ms, min: ms, max: ms, samples: Array.from({ length: n }, () => ms) });

function kernel(id: string, ms: number, extra: Partial<KernelResult> = {}): KernelResult {
  return { id, ok: true, time: stats(ms), relErrFrobenius: 1e-7, maxAbsErrRel: 1e-7, stdevRel: 0.004, noisy: false, callsPerSample: 1, ...extra };
}

function call(kernels: KernelResult[]): BenchmarkResult {
  return { backend: 'cuda', device: 'GPU', aPatterns: stats(0.5), skippedSliceFraction: 0.5, kDensity: 0.25, reference: 'cublasDgemm', kernels };
}

const shape = { m: 4096, k: 4096, n: 4096 };
const cuda = kernelRoles(FAKE_REGISTRY, 'cuda');

describe('speedups against every float32-accurate dense baseline of the same call', () => {
  it('states the speedup against SGEMM, against dense-tf32x3 and against the faster of the two', () => {
    const r = call([kernel('cublas', 4), kernel('dense-tf32x3', 3), kernel('esmm', 1.5)]);
    const { failure, fields } = measureKernel('esmm', r, cuda, shape);
    assert.equal(failure, null);
    assert.equal(fields.speedup_compute, 4 / 1.5);
    assert.equal(fields.speedup_total, 4 / 2);
    assert.equal(fields.speedup_tf32x3_compute, 2);
    assert.equal(fields.speedup_tf32x3_total, 1.5);
    assert.equal(fields.speedup_best_dense_compute, 2);
    assert.equal(fields.speedup_best_dense_total, 1.5);
    assert.equal(fields.best_dense_kernel, 'dense-tf32x3');
    assert.equal(fields.k_density, 0.25);
    assert.equal(fields.stdev_rel, 0.004);
    assert.equal(fields.noisy, 'false');
    assert.equal(fields.samples, 5);
  });

  it('takes SGEMM as the best baseline when it is the faster one, and leaves out one that failed', () => {
    const r = call([kernel('cublas', 2), kernel('dense-tf32x3', 3), kernel('esmm', 1)]);
    assert.equal(measureKernel('esmm', r, cuda, shape).fields.best_dense_kernel, 'cublas');
    const failed = call([kernel('cublas', 4), kernel('dense-tf32x3', 1, { maxAbsErrRel: 3e-5 }), kernel('esmm', 2)]);
    const m = measureKernel('esmm', failed, cuda, shape).fields;
    assert.equal(m.best_dense_kernel, 'cublas');
    assert.equal(m.speedup_tf32x3_compute, null);
    assert.equal(m.speedup_best_dense_compute, 2);
  });

  it('on cpu the reference GEMM is the only baseline, and there is no dense-tf32x3 column', () => {
    const cpu = kernelRoles(FAKE_REGISTRY, 'cpu');
    assert.deepEqual(cpu.baselines, ['reference']);
    const r = { ...call([kernel('reference', 8), kernel('esmm', 2)]), backend: 'cpu' as const };
    const m = measureKernel('esmm', r, cpu, shape).fields;
    assert.equal(m.speedup_compute, 4);
    assert.equal(m.speedup_best_dense_compute, 4);
    assert.equal(m.speedup_tf32x3_compute, null);
  });
});

describe('strict verification', () => {
  const strict = cuda.tolerance.get('esmm');
  it('fails a float32-accurate kernel on either error above 1e-5, naming which', () => {
    assert.equal(verificationFailure(kernel('esmm', 1, { relErrFrobenius: 9e-6, maxAbsErrRel: 9e-6 }), strict), null);
    assert.match(verificationFailure(kernel('esmm', 1, { relErrFrobenius: 2e-5 }), strict) ?? '', /^verification: relative Frobenius error 2\.00e-5 > 1\.00e-5/);
    // A Frobenius error far under the bar does not hide one wrong block: the elementwise bar catches it.
    assert.match(verificationFailure(kernel('esmm', 1, { relErrFrobenius: 7e-6, maxAbsErrRel: 4e-3 }), strict) ?? '', /max \|C − C64\| \/ max \|C64\| 4\.00e-3 > 1\.00e-5/);
  });
  it('keeps the looser bars of the TF32 and BF16 reference rows', () => {
    const tf32 = kernel('cublas-tf32', 1, { relErrFrobenius: 3e-4, maxAbsErrRel: 9e-4 });
    assert.equal(verificationFailure(tf32, cuda.tolerance.get('cublas-tf32')), null);
    assert.notEqual(verificationFailure(tf32, cuda.tolerance.get('cublas')), null);
  });
  it('a failed kernel keeps its error code; a wrong result is WRONG_RESULT', () => {
    const oom = call([kernel('cublas', 4), { id: 'esmm', ok: false, errorCode: 'OUT_OF_MEMORY', error: 'm=1 needs 2 GiB' }]);
    assert.deepEqual([measureKernel('esmm', oom, cuda, shape).failure, measureKernel('esmm', oom, cuda, shape).code], ['m=1 needs 2 GiB', 'OUT_OF_MEMORY']);
    const wrong = call([kernel('cublas', 4), kernel('esmm', 1, { maxAbsErrRel: 1e-3 })]);
    assert.equal(measureKernel('esmm', wrong, cuda, shape).code, 'WRONG_RESULT');
  });
});
