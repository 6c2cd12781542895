import { UsageError } from '../errors.js';

/** A model repository and the revision asked for (branch, tag or commit sha). */
export interface RepoSpec {
  repo: string;
  /** Undefined when the user named none: a manifest's pinned revision, else `main`. */
  revision?: string;
}

export const DEFAULT_REVISION = 'main';
export const COMMIT_SHA_RE = /^[0-9a-f]{40}$/;

/** The hub's own rule for names: letters, digits, `-`, `_`, `.`; no `--` or `..`. */
const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

/** Refuses a repo id that could leave the cache folder once joined onto it (`..`, absolute, …). */
export function assertSafeRepoId(repo: string): void {
  const parts = repo.split('/');
  const ok = parts.length >= 1 && parts.length <= 2 && parts.every((p) => NAME_RE.test(p) && !p.includes('..') && !p.includes('--'));
  if (!ok) throw new UsageError(`bad model id "${repo}": expected <org>/<name> made of letters, digits, '-', '_', '.' (no '..', no absolute path)`);
}

/** A revision becomes a file under refs/: it must stay a plain relative path. */
export function assertSafeRevision(revision: string): void {
  const bad =
    revision.length === 0 ||
    revision.length > 255 ||
    /[\x00-\x1f\x7f\\:]/.test(revision) ||
    revision.startsWith('/') ||
    revision.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (bad) throw new UsageError(`bad revision "${revision}": expected a branch, tag or commit sha (no '..', no absolute path)`);
}

/** Parses `org/name[@revision]`. */
export function parseRepoSpec(spec: string): RepoSpec {
  const at = spec.indexOf('@');
  const repo = at === -1 ? spec : spec.slice(0, at);
  const revision = at === -1 ? undefined : spec.slice(at + 1);
  assertSafeRepoId(repo);
  if (revision !== undefined) assertSafeRevision(revision);
  return revision === undefined ? { repo } : { repo, revision };
}
