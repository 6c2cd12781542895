import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import fg from 'fast-glob';

import { EsmmError } from '../errors.js';
import { sha256File } from './sha256-file.js';

/**
 * Finds each wanted file (relative name → sha256) again under `dir`: at the same relative
 * name when its content matches, else any file under `dir` with that sha256. Refuses, naming
 * the file, any that cannot be found: INTEGRITY when a file of that name is there with other
 * content, NOT_FOUND when none is.
 */
export async function locateBySha256(dir: string, wanted: Record<string, string>): Promise<Record<string, string>> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new EsmmError('NOT_FOUND', `--weights ${dir}: no such folder`);
  const found: Record<string, string> = {};
  const hashed = new Map<string, string>();
  const hashOf = async (path: string): Promise<string> => {
    let sha = hashed.get(path);
    if (sha === undefined) {
      sha = await sha256File(path);
      hashed.set(path, sha);
    }
    return sha;
  };
  const missing: [string, string][] = [];
  for (const [name, sha] of Object.entries(wanted)) {
    const same = join(dir, name);
    if (existsSync(same) && statSync(same).isFile() && (await hashOf(same)) === sha) found[name] = same;
    else missing.push([name, sha]);
  }
  if (missing.length === 0) return found;

  // Moved or renamed files: hash everything under dir once (pattern caches excepted).
  const bySha = new Map<string, string>();
  for (const f of (await fg('**/*', { cwd: dir, onlyFiles: true, followSymbolicLinks: true, ignore: ['**/.esmm-cache/**'] })).sort()) {
    const path = join(dir, f);
    const sha = await hashOf(path);
    if (!bySha.has(sha)) bySha.set(sha, path);
  }
  const refused: EsmmError[] = [];
  for (const [name, sha] of missing) {
    const path = bySha.get(sha);
    if (path !== undefined) {
      found[name] = path;
      continue;
    }
    const same = join(dir, name);
    refused.push(
      existsSync(same)
        ? new EsmmError('INTEGRITY', `${name}: sha256 ${hashed.get(same)?.slice(0, 12) ?? '?'}… under ${dir} differs from the record's ${sha.slice(0, 12)}…, and no other file there has the recorded content`, { file: same })
        : new EsmmError('NOT_FOUND', `${name}: no file under ${dir} has the recorded sha256 ${sha.slice(0, 12)}…`),
    );
  }
  if (refused.length > 0) {
    const first = refused[0];
    throw new EsmmError(first.code, first.message + (refused.length > 1 ? ` (and ${refused.length - 1} more)` : ''), first.file !== undefined ? { file: first.file } : undefined);
  }
  return found;
}
