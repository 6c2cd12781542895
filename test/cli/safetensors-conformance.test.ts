import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { tempDir } from '../helpers.js';
import { f32Bytes } from '../weights/fixtures.js';
import { cli } from './cli-run.js';

const tmp = tempDir();
after(() => tmp.cleanup());

const data = f32Bytes(Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 0 : i)));
const w = { dtype: 'F32', shape: [8, 8], data_offsets: [0, 256] };

/** A file whose header is `header` (raw JSON text, or an object) followed by `body`. */
function rawFile(name: string, header: string | object, body: Uint8Array = data): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const file = join(tmp.dir, name);
  writeFileSync(file, Buffer.concat([len, json, body]));
  return file;
}

before(() => mkdirSync(tmp.dir, { recursive: true }));

describe('safetensors read as the reference reader reads them', () => {
  it('"__metadata__": null (as MLX writes it) is accepted; a map of strings too', async () => {
    const mlx = rawFile('mlx.safetensors', { __metadata__: null, w });
    const r = await cli(['scan', mlx]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /scanned 1 tensors/);
    const str = rawFile('meta.safetensors', { __metadata__: { format: 'pt' }, w });
    assert.equal((await cli(['scan', str])).code, 0);
  });

  const refused: [string, string | object, Uint8Array | undefined, RegExp][] = [
    ['meta-number.safetensors', { __metadata__: { step: 3 }, w }, undefined, /__metadata__ value of "step" is not a string/],
    ['meta-array.safetensors', { __metadata__: ['x'], w }, undefined, /__metadata__ is not a JSON object of strings/],
    ['hole.safetensors', { a: { dtype: 'F32', shape: [4, 4], data_offsets: [0, 64] }, b: { dtype: 'F32', shape: [4, 4], data_offsets: [128, 192] } }, data.subarray(0, 192), /hole of 64 bytes before tensor "b"/],
    ['trailing.safetensors', { w }, new Uint8Array(Buffer.concat([data, Buffer.alloc(16)])), /16 bytes after the last tensor belong to no tensor/],
    ['overlap.safetensors', { a: { dtype: 'F32', shape: [8, 4], data_offsets: [0, 128] }, b: { dtype: 'F32', shape: [8, 4], data_offsets: [64, 192] } }, data.subarray(0, 192), /overlap/],
  ];
  for (const [name, header, body, reason] of refused) {
    it(`${name} is refused with its reason`, async () => {
      const file = rawFile(name, header, body);
      const r = await cli(['scan', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, reason);
      assert.ok(r.stderr.includes(file));
    });
  }

  it('a header that is not valid UTF-8 is reported as such', async () => {
    const json = Buffer.concat([Buffer.from('{"w'), Buffer.from([0xff, 0xfe]), Buffer.from('":' + JSON.stringify(w) + '}')]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const file = join(tmp.dir, 'latin1.safetensors');
    writeFileSync(file, Buffer.concat([len, json, data]));
    const r = await cli(['scan', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /header is not valid UTF-8/);
  });

  it('names with ESC, BEL and NUL reach the terminal escaped, in lines and in errors', async () => {
    const evil = '\u001b[31mred\u0007\u0000';
    const ok = rawFile('evil-ok.safetensors', { [evil]: w });
    const r = await cli(['scan', ok]);
    assert.equal(r.code, 0, r.stderr);
    const bad = rawFile('evil-bad.safetensors', { [evil]: { ...w, data_offsets: [16, 272] } }, new Uint8Array(Buffer.concat([Buffer.alloc(16), data])));
    const b = await cli(['scan', bad]);
    assert.equal(b.code, 1);
    const j = await cli(['scan', ok, '--json']);
    for (const out of [r.stdout, r.stderr, b.stdout, b.stderr, j.stdout]) {
      assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f]/, JSON.stringify(out));
    }
    assert.ok(r.stdout.includes('\\x1b[31mred\\x07\\x00'), r.stdout);
    assert.ok(b.stderr.includes('\\x1b[31mred\\x07\\x00'), b.stderr);
  });
});
