import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { CSV_COLUMNS, CSV_COLUMN_DOCS } from '../src/output/columns.js';
import { REPO_ROOT } from './helpers.js';

test('the README documents every CSV column, in the order the CSV writes them', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## CSV columns'), readme.indexOf('## Run record'));
  const documented = [...section.matchAll(/^\| `([a-z_0-9]+)` \| (.+) \|$/gm)].map((m) => m[1]);
  assert.deepEqual(documented, [...CSV_COLUMNS]);
  for (const column of CSV_COLUMNS) assert.ok(CSV_COLUMN_DOCS[column].length > 0, column);
});

test('the README opens with the two setup commands CI runs', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.match(firstBlock, /^npm install && npm start\b/m);
  assert.match(firstBlock, /^npm test\b/m);
  const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8');
  assert.match(ci, /^npm install$/m);
  assert.match(ci, /^npm test$/m);
});
