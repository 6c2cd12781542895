import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { openResultCsv } from '../../src/output/result-csv.js';
import { writeReport } from '../../src/output/write-report.js';
import { REPO_ROOT, tempDir } from '../helpers.js';

// Written before the memory and payback columns were appended.
const OLDER = join(REPO_ROOT, 'docs', 'results', 'real-h100.csv');

describe('a result CSV of an earlier version (fewer columns)', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('is read by report', async () => {
    const r = await writeReport({ csv: OLDER, outDir: tmp.dir, plots: false });
    assert.match(r.markdown, /^252 rows: 252 ok, 0 failed, 0 skipped\.$/m);
    assert.doesNotMatch(r.markdown, /Memory of B/);
  });

  it('is never appended to by --resume (its rows would have other columns)', () => {
    const copy = join(tmp.dir, 'older.csv');
    copyFileSync(OLDER, copy);
    assert.throws(() => openResultCsv({ path: copy, resume: true }), /earlier version/);
  });
});
