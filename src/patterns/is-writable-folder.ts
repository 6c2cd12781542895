import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Whether the user may create files in `dir` (or, when it does not exist yet, in its nearest
 * existing ancestor). Root passes every access check, so for root the folder's mode must also
 * grant some write bit: a tree shipped read-only (r-x) is read-only to everyone.
 */
export function isWritableFolder(dir: string): boolean {
  let p = dir;
  for (;;) {
    try {
      const st = statSync(p);
      if (!st.isDirectory()) return false;
      accessSync(p, constants.W_OK);
      return process.getuid?.() !== 0 || (st.mode & 0o222) !== 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) return false;
      p = dirname(p);
    }
  }
}
