import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { packageRoot } from '../src/version.js';

/** Repository root, whether tests run from dist/ or through tsx. */
export const REPO_ROOT = packageRoot();

/** The read-only real checkpoints that sit beside the repository (never copied into it). */
export const SHARED_WEIGHTS = resolve(REPO_ROOT, '..', 'shared', 'weights');

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'esmm-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
