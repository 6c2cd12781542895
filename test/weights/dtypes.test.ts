import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { readTensorF32, walkWeights } from '../../src/weights/index.js';
import { tempDir } from '../helpers.js';
import { bf16Bits, f32Bytes, f64Bytes, PickleWriter, ptZipBytes, u16Bytes, writeSafetensors } from './fixtures.js';

const tmp = tempDir('esmm-weights-dtypes-');
after(() => tmp.cleanup());

// Half bit patterns and their exact values: normal, max, smallest subnormal, signed zero, infinities.
const HALF: [number, number][] = [
  [0x3c00, 1],
  [0xc000, -2],
  [0x3555, 0.333251953125],
  [0x7bff, 65504],
  [0x0001, 2 ** -24],
  [0x03ff, 1023 * 2 ** -24],
  [0x8000, -0],
  [0x7c00, Infinity],
  [0xfc00, -Infinity],
];
const BF16_VALUES = [1, -2, 0.5, 3.140625, -0, 2 ** -130, 1.5 * 2 ** 126, -65536];
const F64_VALUES = [1 / 3, -2.5, 1e-50, 1e300, Math.PI, -0];

describe('dtype conversion to float32', () => {
  it('reads every float dtype of a safetensors file exactly', async () => {
    const file = join(tmp.dir, 'all.safetensors');
    writeSafetensors(file, [
      { name: 'f32', dtype: 'F32', shape: [2, 3], data: f32Bytes([1.5, -0, 3, Number.NaN, 1e-40, -7]) },
      { name: 'f16', dtype: 'F16', shape: [3, 3], data: u16Bytes(HALF.map(([b]) => b)) },
      { name: 'bf16', dtype: 'BF16', shape: [2, 4], data: u16Bytes(BF16_VALUES.map(bf16Bits)) },
      { name: 'f64', dtype: 'F64', shape: [3, 2], data: f64Bytes(F64_VALUES) },
      { name: 'i32', dtype: 'I32', shape: [2, 2], data: new Uint8Array(16) },
    ]);
    const walk = await walkWeights({ root: file });
    assert.deepEqual(walk.tensors.map((t) => [t.name, t.dtype]), [
      ['f32', 'F32'],
      ['f16', 'F16'],
      ['bf16', 'BF16'],
      ['f64', 'F64'],
    ]);
    assert.equal(walk.skipped[0].code, 'NOT_FLOAT');
    const read = async (name: string) => [...(await readTensorF32({ file, name }))];
    const f32 = await read('f32');
    assert.deepEqual(f32.filter((v) => !Number.isNaN(v)), [1.5, -0, 3, Math.fround(1e-40), -7]);
    assert.ok(Number.isNaN(f32[3]));
    assert.deepEqual(await read('f16'), HALF.map(([, v]) => v));
    assert.deepEqual(await read('bf16'), BF16_VALUES.map((v) => Math.fround(v)));
    assert.deepEqual(await read('f64'), F64_VALUES.map((v) => Math.fround(v)));
  });

  it('reads torch.save zips in every float dtype, strided, offset and big-endian', async () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const be = Buffer.from(f32Bytes(values));
    be.swap32();
    const cases: [string, string, Uint8Array, string?][] = [
      ['FloatStorage', 'F32', f32Bytes(values)],
      ['DoubleStorage', 'F64', f64Bytes(values)],
      ['HalfStorage', 'F16', u16Bytes(values.map((v) => [0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600, 0x4700, 0x4800, 0x4880, 0x4900, 0x4980, 0x4a00][v - 1]))],
      ['BFloat16Storage', 'BF16', u16Bytes(values.map(bf16Bits))],
      ['FloatStorage', 'F32', be, 'big'],
    ];
    for (const [cls, dtype, bytes, order] of cases) {
      const file = join(tmp.dir, `${cls}-${order ?? 'little'}.pt`);
      // A state dict: "w" is rows 1..2 of a 3×4 storage, "t" is the transposed 4×3 view.
      const pickle = new PickleWriter()
        .op(0x7d)
        .mark()
        .str('w')
        .tensor(cls, '0', 12, 4, [2, 4], [4, 1])
        .str('t')
        .tensor(cls, '0', 12, 0, [4, 3], [1, 4])
        .op(0x75)
        .bytes();
      writeFileSync(file, ptZipBytes(pickle, { '0': bytes }, order));
      const walk = await walkWeights({ root: file });
      assert.deepEqual(walk.tensors.map((t) => [t.name, t.dtype, t.format]), [
        ['w', dtype, 'pt'],
        ['t', dtype, 'pt'],
      ]);
      assert.deepEqual([...(await readTensorF32({ file, name: 'w' }))], [5, 6, 7, 8, 9, 10, 11, 12], `${cls} ${order}`);
      assert.deepEqual([...(await readTensorF32({ file, name: 't' }))], [1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12]);
    }
  });
});

describe('legacy (pre-zip) torch.save layout', () => {
  it('reads storages in key order, including a view into another storage', async () => {
    const magic = new PickleWriter().op(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).bytes();
    const protocol = new PickleWriter().int(1001).bytes();
    const sysInfo = new PickleWriter().op(0x7d).str('little_endian').op(0x88, 0x73).bytes();
    // pid = ('storage', FloatStorage, root key, 'cpu', numel, view); "v" views root "a" from element 2.
    const pid = (key: string, numel: number, view?: [string, number, number]): PickleWriter => {
      const w = new PickleWriter().mark().str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(numel);
      if (view) w.mark().str(view[0]).int(view[1]).int(view[2]).tuple();
      else w.op(0x4e);
      return w.tuple().op(0x51);
    };
    const tensor = (w: PickleWriter, pidBytes: Uint8Array, shape: number[], stride: number[]): void => {
      w.global('torch._utils', '_rebuild_tensor_v2').mark();
      w.op(...pidBytes.subarray(2, -1)).int(0).mark();
      shape.forEach((d) => w.int(d));
      w.tuple().mark();
      stride.forEach((d) => w.int(d));
      w.tuple().op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).tuple().op(0x52);
    };
    const main = new PickleWriter().op(0x7d).mark().str('x');
    tensor(main, pid('a', 6).bytes(), [2, 3], [3, 1]);
    main.str('v');
    tensor(main, pid('a', 4, ['v', 2, 4]).bytes(), [2, 2], [2, 1]);
    main.str('y');
    tensor(main, pid('b', 4).bytes(), [2, 2], [1, 2]);
    main.op(0x75);
    const keys = new PickleWriter().op(0x5d).mark().str('b').str('a').op(0x65).bytes();
    const storage = (values: number[]): Buffer => {
      const n = Buffer.alloc(8);
      n.writeBigInt64LE(BigInt(values.length));
      return Buffer.concat([n, Buffer.from(f32Bytes(values))]);
    };
    const file = join(tmp.dir, 'legacy.pt');
    writeFileSync(file, Buffer.concat([magic, protocol, sysInfo, main.bytes(), keys, storage([10, 20, 30, 40]), storage([1, 2, 3, 4, 5, 6])]));
    const walk = await walkWeights({ root: file });
    assert.deepEqual(walk.tensors.map((t) => t.name), ['x', 'v', 'y']);
    assert.deepEqual([...(await readTensorF32({ file, name: 'x' }))], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...(await readTensorF32({ file, name: 'v' }))], [3, 4, 5, 6]);
    assert.deepEqual([...(await readTensorF32({ file, name: 'y' }))], [10, 30, 20, 40]);
  });
});
