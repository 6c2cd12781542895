import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';

import { renderResultsDoc } from '../../src/output/render-results-doc.js';
import { RESULTS_DOCS } from '../../src/output/results-docs.js';
import { packageRoot } from '../../src/version.js';
import { tempDir } from '../helpers.js';

const root = packageRoot();
const tmp = tempDir();
after(() => tmp.cleanup());

for (const rel of RESULTS_DOCS) {
  it(`${rel}: every result table is what the committed CSVs render (npm run render:results)`, () => {
    const text = readFileSync(join(root, rel), 'utf8');
    assert.ok(text.includes('<!-- results: '), `${rel} has result blocks`);
    assert.equal(renderResultsDoc(text, root), text);
  });
}

it('a changed result CSV changes the rendered table, so a stale document fails the check above', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /<!-- results: sweep (\S+) -->/.exec(readme);
  assert.ok(block, 'the README has a sweep block');
  const csv = block[1];
  const copy = join(tmp.dir, 'copy');
  mkdirSync(join(copy, csv, '..'), { recursive: true });
  copyFileSync(join(root, csv), join(copy, csv));
  copyFileSync(join(root, `${csv}.json`), join(copy, `${csv}.json`));
  const doc = `<!-- results: sweep ${csv} -->\n<!-- /results -->\n`;
  const before = renderResultsDoc(doc, copy);
  const lines = readFileSync(join(copy, csv), 'utf8').split('\n');
  const cols = lines[0].split(',');
  const i = cols.indexOf('compute_ms_median');
  const esmm = lines.findIndex((l, n) => n > 0 && l.split(',')[cols.indexOf('kernel')] === 'esmm');
  const cells = lines[esmm].split(',');
  cells[i] = String(Number(cells[i]) * 2);
  lines[esmm] = cells.join(',');
  writeFileSync(join(copy, csv), lines.join('\n'));
  assert.notEqual(renderResultsDoc(doc, copy), before);
});

