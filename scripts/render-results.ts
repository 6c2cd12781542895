// Re-renders the result tables of the README and docs/performance.md from the committed result
// CSVs (the blocks between `<!-- results: … -->` and `<!-- /results -->`):
//   npm run render:results           rewrite the files
//   npm run render:results -- --check exit 1 when a file differs from what would be rendered
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { RESULTS_DOCS } from '../src/output/results-docs.js';
import { renderResultsDoc } from '../src/output/render-results-doc.js';
import { packageRoot } from '../src/version.js';

const root = packageRoot();
const check = process.argv.includes('--check');
let stale = 0;
for (const rel of RESULTS_DOCS) {
  const path = join(root, rel);
  const text = readFileSync(path, 'utf8');
  const rendered = renderResultsDoc(text, root);
  if (rendered === text) continue;
  if (check) {
    process.stderr.write(`${rel}: result tables differ from the committed CSVs (run npm run render:results)\n`);
    stale++;
  } else {
    writeFileSync(path, rendered);
    process.stdout.write(`rendered ${rel}\n`);
  }
}
if (stale > 0) process.exitCode = 1;
