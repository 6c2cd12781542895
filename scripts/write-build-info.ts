// Records, at build time, the commit the TypeScript was compiled from (dist/build-info.json), so
// run records name the code actually built — also where the tree has no .git later (a copy sent
// to a GPU machine, an installed package). ESMM_BUILD_COMMIT, when set, names it (a copy whose .git
// does not describe its files); else the checkout's HEAD.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { gitCommit } from '../src/output/run-metadata.js';
import { BUILD_INFO_RELATIVE_PATH, type BuildInfo, packageRoot } from '../src/version.js';

const root = packageRoot();
let commit = process.env.ESMM_BUILD_COMMIT || gitCommit(root);
let dirty = false;
if (!process.env.ESMM_BUILD_COMMIT && commit !== 'unknown') {
  try {
    // Untracked files count too: they are compiled like any other.
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'scripts', 'native', 'kernels', 'CMakeLists.txt', 'package.json'], { cwd: root, encoding: 'utf8' }).trim() !== '';
  } catch {
    dirty = false;
  }
}
const info: BuildInfo = { commit, dirty, builtAt: new Date().toISOString() };
writeFileSync(join(root, BUILD_INFO_RELATIVE_PATH), JSON.stringify(info, null, 2) + '\n');
