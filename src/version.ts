import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this file holding esmm-bench's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'esmm-bench') return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('esmm-bench: package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const VERSION: string = (
  JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
).version;

/** What `npm run build:ts` records about the sources it compiled (scripts/write-build-info.ts). */
export interface BuildInfo {
  /** Commit of the sources, 'unknown' when neither .git nor ESMM_BUILD_COMMIT named one. */
  commit: string;
  /** True when tracked sources differed from the commit at build time. */
  dirty: boolean;
  builtAt: string;
}

export const BUILD_INFO_RELATIVE_PATH = join('dist', 'build-info.json');

/** The build record of this copy of the tool; commit 'unknown' when it was compiled without one. */
export function buildInfo(): BuildInfo {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), BUILD_INFO_RELATIVE_PATH), 'utf8')) as BuildInfo;
  } catch {
    return { commit: 'unknown', dirty: false, builtAt: '' };
  }
}
