import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

export interface ExpectedContent {
  size?: number;
  /** sha256 (the LFS oid). */
  sha256?: string;
  /** git blob id: sha1 of `blob <size>\0<content>`. */
  gitOid?: string;
}

async function digest(file: string, algorithm: 'sha256' | 'sha1', prefix?: Buffer): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Checks a file against what the hub says it is (size, then sha256 or git blob id).
 * Returns the reason it does not match, or undefined when it does.
 */
export async function checkBlob(file: string, expected: ExpectedContent): Promise<string | undefined> {
  const { size } = await stat(file);
  if (expected.size !== undefined && size !== expected.size) return `size ${size} bytes, the hub says ${expected.size}`;
  if (expected.sha256 !== undefined) {
    const got = await digest(file, 'sha256');
    if (got !== expected.sha256) return `sha256 ${got}, the hub says ${expected.sha256}`;
  } else if (expected.gitOid !== undefined) {
    const got = await digest(file, 'sha1', Buffer.from(`blob ${size}\0`));
    if (got !== expected.gitOid) return `git blob id ${got}, the hub says ${expected.gitOid}`;
  }
  return undefined;
}
