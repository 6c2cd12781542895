import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createDownloadProgress, formatBytes } from '../../src/hub/index.js';

describe('download progress', () => {
  test('without a TTY: one line when a file starts and one when it is done', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const p = createDownloadProgress({ totalBytes: 3_000_000, stream });
    p.start('model.safetensors', 2_626_168);
    p.advance(1_000_000);
    p.finish('model.safetensors');
    p.stop();
    assert.deepEqual(lines, ['fetching model.safetensors (2.6 MB)\n', 'fetched model.safetensors\n']);
  });

  test('sizes in decimal units', () => {
    assert.deepEqual([0, 649, 1658, 2_626_168, 4_980_000_000].map(formatBytes), ['0 B', '649 B', '1.7 KB', '2.6 MB', '5.0 GB']);
  });
});
