import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { EsmmError } from '../../src/errors.js';
import { hasCuda, loadNative } from '../../src/native/index.js';
import { tempDir } from '../helpers.js';

describe('loadNative', () => {
  it('explains a missing addon: not built, and the fix', () => {
    process.env.ESMM_NATIVE_ADDON = join('no', 'such', 'dir', 'esmm_native.node');
    try {
      assert.throws(loadNative, (err: unknown) => {
        assert.ok(err instanceof EsmmError);
        assert.equal(err.code, 'NO_BACKEND');
        assert.match(err.message, /esmm_native\.node: not built\. Fix: run `npm run build:native`/);
        return true;
      });
    } finally {
      delete process.env.ESMM_NATIVE_ADDON;
    }
  });

  it('explains an addon that exists but does not load', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'esmm_native.node');
      writeFileSync(file, 'not a shared object');
      process.env.ESMM_NATIVE_ADDON = file;
      assert.throws(loadNative, (err: unknown) => {
        assert.ok(err instanceof EsmmError);
        assert.equal(err.code, 'NO_BACKEND');
        assert.match(err.message, /could not be loaded: .*Possible causes: .*another machine.*cuBLAS.*Fix: run `npm run build:native`/);
        return true;
      });
    } finally {
      delete process.env.ESMM_NATIVE_ADDON;
      tmp.cleanup();
    }
  });

  it('loads the built addon once, and hasCuda agrees with info() and devices()', () => {
    const native = loadNative();
    assert.equal(loadNative(), native);
    const expected = native.info().backends.includes('cuda') && native.devices().length > 0;
    assert.equal(hasCuda(native), expected);
  });
});
