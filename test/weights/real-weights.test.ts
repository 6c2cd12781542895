import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { readTensorF32, walkWeights } from '../../src/weights/index.js';
import { SHARED_WEIGHTS } from '../helpers.js';

interface ExpectedTensor {
  shape: number[];
  dtype: string;
  sum: number;
  abs_sum: number;
  first: number[];
  zeros: number;
  contiguous: boolean;
}
type Expected = Record<string, { bytes: number; sha256: string; tensors?: Record<string, ExpectedTensor> }>;

const expected = JSON.parse(readFileSync(join(SHARED_WEIGHTS, 'expected.json'), 'utf8')) as Expected;
const DTYPES: Record<string, string> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64', int64: 'I64' };

function stats(data: Float32Array): { sum: number; abs: number; zeros: number } {
  let sum = 0;
  let abs = 0;
  let zeros = 0;
  for (const v of data) {
    sum += v;
    abs += Math.abs(v);
    if (v === 0) zeros++;
  }
  return { sum, abs, zeros };
}

function assertMatches(data: Float32Array, e: ExpectedTensor, what: string): void {
  const s = stats(data);
  const tol = 1e-6 * Math.max(1, e.abs_sum);
  assert.ok(Math.abs(s.sum - e.sum) <= tol, `${what}: sum ${s.sum} vs ${e.sum}`);
  assert.ok(Math.abs(s.abs - e.abs_sum) <= tol, `${what}: abs sum ${s.abs} vs ${e.abs_sum}`);
  assert.equal(s.zeros, e.zeros, `${what}: zero count`);
  assert.deepEqual([...data.subarray(0, 4)], e.first, `${what}: first values`);
}

describe('real checkpoints against expected.json', () => {
  const withTensors = Object.entries(expected).filter(([, v]) => v.tensors && Object.keys(v.tensors).length > 0);

  for (const [rel, info] of withTensors) {
    it(rel, async () => {
      const file = join(SHARED_WEIGHTS, rel);
      const walk = await walkWeights({ root: file });
      for (const [name, e] of Object.entries(info.tensors ?? {})) {
        const dtype = DTYPES[e.dtype];
        const ref = walk.tensors.find((t) => t.name === name);
        if (e.shape.length === 2 && dtype !== 'I64') {
          assert.ok(ref, `${rel}: ${name} listed`);
          assert.deepEqual(ref.shape, e.shape);
          assert.equal(ref.dtype, dtype);
          assert.equal(ref.file, file);
          assertMatches(await readTensorF32(ref), e, `${rel}:${name}`);
        } else {
          assert.equal(ref, undefined, `${rel}: ${name} is not a candidate`);
          const skip = walk.skipped.find((s) => s.name === name);
          assert.ok(skip, `${rel}: ${name} skipped`);
          assert.equal(skip.code, dtype === 'I64' ? 'NOT_FLOAT' : 'NOT_2D');
          assert.ok(skip.reason.startsWith(`${file}: `), skip.reason);
        }
      }
      const candidates = Object.values(info.tensors ?? {}).filter((e) => e.shape.length === 2 && e.dtype !== 'int64');
      assert.equal(walk.tensors.length, candidates.length);
    });
  }

  it('lists each tensor of the sharded checkpoint once, under the shard that holds it', async () => {
    const root = join(SHARED_WEIGHTS, 'tinystories-656k-sharded');
    const walk = await walkWeights({ root });
    const names = walk.tensors.map((t) => t.name);
    assert.equal(names.length, 15);
    assert.equal(new Set(names).size, 15);
    const shard1 = expected['tinystories-656k-sharded/model-00001-of-00002.safetensors'].tensors ?? {};
    for (const t of walk.tensors) {
      const shard = t.name in shard1 ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors';
      assert.equal(t.file, join(root, shard), t.name);
    }
    assert.equal(walk.skipped.length, 5);
    assert.ok(walk.skipped.every((s) => s.code === 'NOT_2D'));
    // The index file itself as the root gives the same listing.
    const viaIndex = await walkWeights({ root: join(root, 'model.safetensors.index.json') });
    assert.deepEqual(viaIndex.tensors.map((t) => [t.file, t.name]), walk.tensors.map((t) => [t.file, t.name]));
  });

  it('reads the nested training checkpoint by dotted path, equal to the source model', async () => {
    const walk = await walkWeights({ root: join(SHARED_WEIGHTS, 'pt-edge-cases', 'nested_checkpoint.pt') });
    assert.deepEqual(
      walk.tensors.map((t) => t.name),
      ['model.model.layers.0.mlp.down_proj.weight', 'model.model.layers.0.mlp.gate_proj.weight', 'model.model.layers.0.mlp.up_proj.weight'],
    );
    assert.equal(walk.skipped.length, 0, 'non-tensor values are not tensors to skip');
    const source = expected['tinystories-656k/model.safetensors'].tensors ?? {};
    for (const t of walk.tensors) {
      const e = source[t.name.slice('model.'.length)];
      assert.deepEqual(t.shape, e.shape);
      assertMatches(await readTensorF32(t), e, t.name);
    }
  });

  it('reads a transposed view in row-major order of its shape', async () => {
    const [ref] = (await walkWeights({ root: join(SHARED_WEIGHTS, 'pt-edge-cases', 'transposed_view.pt') })).tensors;
    assert.deepEqual(ref.shape, [384, 128]);
    const data = await readTensorF32(ref);
    // The first values are the stored 128×384 matrix's first column, so reading the storage
    // in stored order would fail this.
    assert.equal(data.length, 384 * 128);
    const e = expected['pt-edge-cases/transposed_view.pt'].tensors?.[''];
    assert.equal(e?.contiguous, false);
    assertMatches(data, e as ExpectedTensor, 'transposed');
  });

  it('reads two tensors sharing one storage at different offsets', async () => {
    const walk = await walkWeights({ root: join(SHARED_WEIGHTS, 'pt-edge-cases', 'shared_storage_state_dict.pt') });
    assert.deepEqual(walk.tensors.map((t) => t.name), ['a', 'b']);
    const [a, b] = await Promise.all(walk.tensors.map((t) => readTensorF32(t)));
    assert.notDeepEqual([...a.subarray(0, 4)], [...b.subarray(0, 4)]);
    const skip = walk.skipped.find((s) => s.name === 'steps');
    assert.equal(skip?.code, 'NOT_FLOAT');
    assert.match(skip?.reason ?? '', /steps" is I64/);
  });
});
