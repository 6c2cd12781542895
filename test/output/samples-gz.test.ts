import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, it } from 'node:test';

import { compareResults } from '../../src/output/compare-results.js';
import { readSamplesText } from '../../src/output/run-metadata.js';
import { REPO_ROOT, tempDir } from '../helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

it('a gzip-compressed samples file is read as the plain one: compare judges from the same samples', () => {
  const src = join(REPO_ROOT, 'docs', 'results', 'sweep-h100.csv');
  const plain = join(tmp.dir, 'plain.csv');
  const packed = join(tmp.dir, 'packed.csv');
  for (const csv of [plain, packed]) {
    copyFileSync(src, csv);
    copyFileSync(`${src}.json`, `${csv}.json`);
  }
  const text = readFileSync(`${src}.samples.jsonl`, 'utf8');
  writeFileSync(`${plain}.samples.jsonl`, text);
  writeFileSync(`${packed}.samples.jsonl.gz`, gzipSync(text));
  assert.equal(readSamplesText(packed), text);
  assert.equal(readSamplesText(join(tmp.dir, 'none.csv')), null);
  const c = compareResults({ base: plain, new: packed, threshold: 0.05 });
  assert.ok(c.rows.length > 0);
  for (const r of c.rows) {
    assert.equal(r.verdict, 'SAME');
    assert.equal(r.timing, 'samples');
    assert.equal(r.noiseBase, r.noiseNew);
  }
});
