import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

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

/**
 * SHA-256 over every file under root, in name order, by relative path and bytes. Dot entries are
 * left out: the pattern cache lives inside a tree and is not part of what was generated.
 */
export function treeDigest(root: string): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(relative(root, p)).update(readFileSync(p));
    }
  };
  walk(root);
  return h.digest('hex');
}
