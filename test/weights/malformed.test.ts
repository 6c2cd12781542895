import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { BadFileError } from '../../src/errors.js';
import { readSafetensorsHeader, readTensorF32, walkWeights } from '../../src/weights/index.js';
import { tempDir } from '../helpers.js';
import { f32Bytes, PickleWriter, ptZipBytes, safetensorsBytes, writeSafetensors, zipBytes } from './fixtures.js';

const tmp = tempDir('esmm-weights-bad-');
after(() => tmp.cleanup());

const good = [{ name: 'w', dtype: 'F32', shape: [2, 2], data: f32Bytes([1, 2, 3, 4]) }];
const w4 = { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] };

/** [file name, bytes, expected code, pattern the one-line reason must match] */
const cases: [string, Buffer | Uint8Array, string, RegExp][] = [
  ['truncated.safetensors', safetensorsBytes(good).subarray(0, -4), 'BAD_FILE', /data_offsets \[0, 16\] run past the end of the data \(12 bytes\)/],
  ['tiny.safetensors', Buffer.from([1, 2, 3]), 'BAD_FILE', /file is 3 bytes, too short/],
  [
    'header-past-end.safetensors',
    Buffer.concat([Buffer.from([0x3f, 0x42, 0x0f, 0, 0, 0, 0, 0]), Buffer.from('{}')]),
    'BAD_FILE',
    /header length 999999 runs past the end of the file \(10 bytes\)/,
  ],
  ['huge-header.safetensors', Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 0x7b, 0x7d]), 'BAD_FILE', /exceeds the 100000000-byte limit/],
  ['bad-json.safetensors', Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"w":')]), 'BAD_FILE', /header is not valid JSON/],
  ['array-json.safetensors', safetensorsBytes([], [] as unknown as Record<string, unknown>), 'BAD_FILE', /header is not a JSON object/],
  [
    'overlap.safetensors',
    safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [6], data: f32Bytes([1, 2, 3, 4, 5, 6]) }], {
      a: { ...w4, data_offsets: [0, 16] },
      b: { ...w4, data_offsets: [8, 24] },
    }),
    'BAD_FILE',
    /tensors "a" and "b" overlap/,
  ],
  ['out-of-range.safetensors', safetensorsBytes(good, { w: { ...w4, data_offsets: [16, 32] } }), 'BAD_FILE', /run past the end of the data \(16 bytes\)/],
  ['wrong-size.safetensors', safetensorsBytes(good, { w: { ...w4, shape: [2, 3] } }), 'BAD_FILE', /spans 16 bytes but shape \[2, 3\] × F32 needs 24/],
  ['unknown-dtype.safetensors', safetensorsBytes(good, { w: { ...w4, dtype: 'F12' } }), 'BAD_FILE', /unknown dtype "F12"/],
  ['negative-shape.safetensors', safetensorsBytes(good, { w: { ...w4, shape: [-2, -2] } }), 'BAD_FILE', /invalid dimension \(-2\)/],
  ['fraction-shape.safetensors', safetensorsBytes(good, { w: { ...w4, shape: [2.5, 2] } }), 'BAD_FILE', /invalid dimension \(2\.5\)/],
  ['backwards-offsets.safetensors', safetensorsBytes(good, { w: { ...w4, data_offsets: [16, 0] } }), 'BAD_FILE', /invalid data_offsets/],
  ['not-object-entry.safetensors', safetensorsBytes(good, { w: 7 }), 'BAD_FILE', /tensor "w" is not a JSON object/],
  [
    'os-system.pt',
    ptZipBytes(new PickleWriter().global('os', 'system').str('echo pwned').op(0x85, 0x52).bytes(), {}),
    'UNSAFE_PICKLE',
    /pickle asks for os\.system, which is not on the allow-list/,
  ],
  [
    'eval.pt',
    ptZipBytes(new PickleWriter().str('builtins').str('eval').op(0x93).str('1+1').op(0x85, 0x52).bytes(), {}),
    'UNSAFE_PICKLE',
    /pickle asks for builtins\.eval, which is not on the allow-list/,
  ],
  [
    'subprocess.bin',
    ptZipBytes(new PickleWriter().global('subprocess', 'Popen').op(0x29, 0x52).bytes(), {}),
    'UNSAFE_PICKLE',
    /subprocess\.Popen/,
  ],
  [
    'newobj.pt',
    ptZipBytes(new PickleWriter().global('collections', 'OrderedDict').op(0x29, 0x81).bytes(), {}),
    'UNSAFE_PICKLE',
    /constructs an object/,
  ],
  [
    'torch-load-hook.pt',
    ptZipBytes(new PickleWriter().global('torch.storage', '_load_from_bytes').bytes(), {}),
    'UNSAFE_PICKLE',
    /torch\.storage\._load_from_bytes/,
  ],
  ['no-data-pkl.pt', zipBytes([{ name: 'archive/version', data: Buffer.from('3\n') }]), 'BAD_FILE', /no data\.pkl/],
  [
    'missing-storage.pt',
    ptZipBytes(new PickleWriter().tensor('FloatStorage', '0', 4, 0, [2, 2], [2, 1]).bytes(), {}),
    'BAD_FILE',
    /no data\/0/,
  ],
  [
    'view-past-storage.pt',
    ptZipBytes(new PickleWriter().tensor('FloatStorage', '0', 4, 2, [2, 2], [2, 1]).bytes(), { '0': f32Bytes([1, 2, 3, 4]) }),
    'BAD_FILE',
    /reaches element 6 of a storage with 4 elements/,
  ],
  ['cut-pickle.pt', ptZipBytes(new PickleWriter().bytes().subarray(0, 2), {}), 'BAD_FILE', /ends before its STOP/],
  ['text.pt', Buffer.from('hello, not a checkpoint'), 'BAD_FILE', /not a torch\.save file/],
  ['empty.bin', Buffer.alloc(0), 'BAD_FILE', /file is empty/],
];

describe('malformed weight files', () => {
  for (const [name, bytes, code, reason] of cases) {
    it(`${name}: ${code}`, async () => {
      const file = join(tmp.dir, name);
      writeFileSync(file, bytes);
      const walk = await walkWeights({ root: file });
      assert.equal(walk.tensors.length, 0);
      assert.equal(walk.skipped.length, 1);
      const [skip] = walk.skipped;
      assert.equal(skip.code, code);
      assert.equal(skip.file, file);
      assert.ok(skip.reason.startsWith(`${file}: `), skip.reason);
      assert.match(skip.reason, reason);
      assert.ok(!skip.reason.includes('\n'), 'one line');
    });
  }

  it('a directory run skips the bad files and lists the good one', async () => {
    const dir = tempDir('esmm-weights-mixed-');
    try {
      writeSafetensors(join(dir.dir, 'good.safetensors'), good);
      writeFileSync(join(dir.dir, 'evil.pt'), cases.find(([n]) => n === 'os-system.pt')?.[1] as Buffer);
      writeFileSync(join(dir.dir, 'bad.safetensors'), Buffer.from([1, 2, 3]));
      const walk = await walkWeights({ root: dir.dir });
      assert.deepEqual(walk.tensors.map((t) => t.name), ['w']);
      assert.deepEqual(walk.skipped.map((s) => s.code).sort(), ['BAD_FILE', 'UNSAFE_PICKLE']);
    } finally {
      dir.cleanup();
    }
  });

  it('readSafetensorsHeader throws a BadFileError naming the file', async () => {
    const file = join(tmp.dir, 'header-past-end.safetensors');
    await assert.rejects(readSafetensorsHeader(file), (err: unknown) => {
      assert.ok(err instanceof BadFileError);
      assert.equal(err.message, `${file}: header length 999999 runs past the end of the file (10 bytes)`);
      return true;
    });
  });

  it('readTensorF32 of a name the file does not hold fails clearly', async () => {
    const file = join(tmp.dir, 'good.safetensors');
    writeSafetensors(file, good);
    await assert.rejects(readTensorF32({ file, name: 'nope' }), /holds no tensor named "nope"/);
  });

  it('a missing root is NOT_FOUND', async () => {
    await assert.rejects(walkWeights({ root: join(tmp.dir, 'nowhere') }), { code: 'NOT_FOUND' });
  });
});
