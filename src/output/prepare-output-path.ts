import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { UsageError } from '../errors.js';

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}` : String(err);
}

/** The nearest existing ancestor of `path` (itself included), with what it is. */
function nearestExisting(path: string): { path: string; isDir: boolean } {
  let p = path;
  for (;;) {
    try {
      return { path: p, isDir: statSync(p).isDirectory() };
    } catch {
      if (dirname(p) === p) return { path: p, isDir: true };
      p = dirname(p);
    }
  }
}

/**
 * Makes sure an output the user named can be written: creates its folder one level at a
 * time (Node's recursive mkdir retries forever under /proc) and proves the folder takes a
 * new file. Any failure is one UsageError naming the flag and the path as the user gave it.
 * Returns the resolved path.
 */
export function prepareOutputPath(path: string, params: { flag: string; kind: 'file' | 'dir' }): string {
  const full = resolve(path);
  const fail = (why: string): never => {
    throw new UsageError(`${params.flag} ${path}: ${why}`);
  };
  if (params.kind === 'file') {
    try {
      if (statSync(full).isDirectory()) fail('is a folder, not a file');
    } catch (err) {
      if (err instanceof UsageError) throw err;
    }
  }
  const dir = params.kind === 'dir' ? full : dirname(full);
  const base = nearestExisting(dir);
  if (!base.isDir) fail(`${base.path} is a file, not a folder`);
  if (base.path !== dir) {
    const missing: string[] = [];
    for (let p = dir; p !== base.path; p = dirname(p)) missing.unshift(p);
    for (const p of missing) {
      try {
        mkdirSync(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') fail(`cannot create the folder ${p} (${reasonOf(err)})`);
      }
    }
  }
  const probe = resolve(dir, `.esmm-write-probe-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') fail(`cannot write in the folder ${dir} (${reasonOf(err)})`);
  }
  return full;
}
