import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

import { EsmmError, describeError } from '../errors.js';
import { isWritableFolder } from './is-writable-folder.js';
import type { Orientation, TensorRef } from '../weights/types.js';
import { type PatternKey, encodePatternFile, patternFileName, readPatternFile, writeFileAtomic } from './pattern-file.js';

/** Environment variable naming a global pattern cache folder. */
export const CACHE_DIR_ENV = 'ESMM_CACHE_DIR';
export const DEFAULT_CACHE_FOLDER = '.esmm-cache';
const INDEX_FILE = 'index.json';
const INDEX_VERSION = 1;
const SHA_RE = /^[0-9a-f]{64}$/;
/**
 * A file modified this recently may be rewritten again within the file system's timestamp
 * granularity without its mtime changing ("racy git"): such files are hashed, not indexed.
 */
const RACY_WINDOW_NS = 2_000_000_000n;

/** A key without its (size, mtime, inode): the same file path (and tensor, orientation). */
function identity(key: string): string {
  try {
    const parts = JSON.parse(key) as string[];
    return JSON.stringify([parts[0], ...parts.slice(4)]);
  } catch {
    return key;
  }
}

function isRacy(key: string): boolean {
  try {
    const mtimeNs = BigInt((JSON.parse(key) as string[])[2]);
    return BigInt(Date.now()) * 1_000_000n - mtimeNs < RACY_WINDOW_NS;
  } catch {
    return true;
  }
}

/** What the index remembers about one tensor file version: enough to skip re-hashing its data. */
export interface IndexEntry {
  contentSha: string;
  k: number;
  n: number;
}

/** The per-user pattern cache: $XDG_CACHE_HOME/esmm-bench, else ~/.cache/esmm-bench. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'esmm-bench');
}

/**
 * Where patterns are cached: `--cache-dir`, else ESMM_CACHE_DIR, else `.esmm-cache/` next to
 * the weights (in the folder given, or beside the file given). When that folder is read-only
 * to the user, the per-user cache instead (`onFallback` says so): a folder the user only reads
 * from is never written to unless asked.
 */
export function resolveCacheDir(params: {
  cacheDir?: string;
  root?: string;
  rootIsFile?: boolean;
  files?: string[];
  onFallback?: (message: string) => void;
}): string {
  if (params.cacheDir) return resolve(params.cacheDir);
  const fromEnv = process.env[CACHE_DIR_ENV];
  if (fromEnv) return resolve(fromEnv);
  const beside =
    params.root !== undefined
      ? join(params.rootIsFile ? dirname(resolve(params.root)) : resolve(params.root), DEFAULT_CACHE_FOLDER)
      : join(commonFolder((params.files ?? []).map((f) => resolve(f))), DEFAULT_CACHE_FOLDER);
  // The weights' folder decides: a cache folder someone made inside a read-only tree is not the user's to write.
  if (isWritableFolder(dirname(beside))) return beside;
  const user = userCacheDir();
  params.onFallback?.(`pattern cache: ${dirname(beside)} is read-only, using ${user} (choose another with --cache-dir)`);
  return user;
}

function commonFolder(files: string[]): string {
  if (files.length === 0) return process.cwd();
  let common = dirname(files[0]);
  for (const file of files) {
    while (common !== dirname(common) && !(file === common || file.startsWith(common.endsWith('/') ? common : common + '/'))) {
      common = dirname(common);
    }
  }
  return common;
}

/**
 * The on-disk pattern cache: one validated file per (content, K×N, orientation, tile config)
 * and an index from (file path, size, mtime, inode, tensor name, orientation) to the content
 * sha, so an unchanged tensor is found again without reading its data.
 */
export class PatternCache {
  readonly dir: string;
  private index = new Map<string, IndexEntry>();
  /** (path, size, mtime, inode) → sha256 of the whole file, for the run record. */
  private files = new Map<string, string>();
  /** Pattern file name → how long computing those patterns took, ms (for the payback columns). */
  private computeMs = new Map<string, number>();
  private dirty = false;
  /** Keys remembered by this process: the current version of their file. */
  private readonly fresh = new Set<string>();
  private writeFailed = false;
  private readonly onWarning: (message: string) => void;
  /** When true a failed write throws (the `cache` command); otherwise it warns once and goes on. */
  private readonly strict: boolean;

  private constructor(dir: string, strict: boolean, onWarning: (message: string) => void) {
    this.dir = dir;
    this.strict = strict;
    this.onWarning = onWarning;
  }

  static async open(dir: string, options: { strict?: boolean; onWarning?: (message: string) => void } = {}): Promise<PatternCache> {
    const cache = new PatternCache(resolve(dir), options.strict ?? false, options.onWarning ?? (() => {}));
    const { entries, files, computeMs } = await cache.readIndex();
    cache.index = entries;
    cache.files = files;
    cache.computeMs = computeMs;
    return cache;
  }

  private async readIndex(): Promise<{ entries: Map<string, IndexEntry>; files: Map<string, string>; computeMs: Map<string, number> }> {
    const entries = new Map<string, IndexEntry>();
    const files = new Map<string, string>();
    const computeMs = new Map<string, number>();
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, INDEX_FILE), 'utf8')) as {
        version?: number;
        entries?: Record<string, IndexEntry>;
        files?: Record<string, string>;
        computeMs?: Record<string, number>;
      };
      if (parsed.version !== INDEX_VERSION) return { entries, files, computeMs };
      for (const [key, e] of Object.entries(parsed.entries ?? {})) {
        if (typeof e?.contentSha === 'string' && SHA_RE.test(e.contentSha) && Number.isInteger(e.k) && Number.isInteger(e.n)) {
          entries.set(key, { contentSha: e.contentSha, k: e.k, n: e.n });
        }
      }
      for (const [key, sha] of Object.entries(parsed.files ?? {})) {
        if (typeof sha === 'string' && SHA_RE.test(sha)) files.set(key, sha);
      }
      for (const [name, ms] of Object.entries(parsed.computeMs ?? {})) {
        if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) computeMs.set(name, ms);
      }
    } catch {
      // A missing or unreadable index only costs re-hashing; the pattern files are checked anyway.
    }
    return { entries, files, computeMs };
  }

  /** The cheap identity of a file as stored now. */
  async fileKey(file: string): Promise<string> {
    const st = await stat(file, { bigint: true });
    return JSON.stringify([resolve(file), String(st.size), String(st.mtimeNs), String(st.ino)]);
  }

  lookupFileSha(fileKey: string): string | undefined {
    return this.files.get(fileKey);
  }

  rememberFileSha(fileKey: string, sha: string): void {
    if (isRacy(fileKey)) return;
    if (this.files.get(fileKey) === sha) return;
    this.files.set(fileKey, sha);
    this.fresh.add(fileKey);
    this.dirty = true;
  }

  /** The cheap identity of a tensor as stored now; changes whenever its file is rewritten. */
  async tensorKey(ref: TensorRef, orientation: Orientation): Promise<string> {
    const st = await stat(ref.file, { bigint: true });
    return JSON.stringify([resolve(ref.file), String(st.size), String(st.mtimeNs), String(st.ino), ref.name, orientation]);
  }

  lookup(tensorKey: string): IndexEntry | undefined {
    return this.index.get(tensorKey);
  }

  remember(tensorKey: string, entry: IndexEntry): void {
    if (isRacy(tensorKey)) return;
    const old = this.index.get(tensorKey);
    if (old && old.contentSha === entry.contentSha && old.k === entry.k && old.n === entry.n) return;
    this.index.set(tensorKey, entry);
    this.fresh.add(tensorKey);
    this.dirty = true;
  }

  /** How long computing the patterns of `key` took when they were computed, ms; undefined when not recorded. */
  lookupComputeMs(key: PatternKey): number | undefined {
    return this.computeMs.get(patternFileName(key));
  }

  rememberComputeMs(key: PatternKey, ms: number): void {
    this.computeMs.set(patternFileName(key), ms);
    this.dirty = true;
  }

  pathFor(key: PatternKey): string {
    return join(this.dir, patternFileName(key));
  }

  /** Valid cached patterns, or why there are none ('missing', 'pattern checksum mismatch', …). */
  async load(key: PatternKey): Promise<{ patterns: Uint8Array } | { invalid: string }> {
    try {
      return await readPatternFile(this.pathFor(key), key);
    } catch (err) {
      return { invalid: describeError(err) };
    }
  }

  async store(key: PatternKey, patterns: Uint8Array): Promise<boolean> {
    if (this.writeFailed) return false;
    try {
      await writeFileAtomic(this.pathFor(key), encodePatternFile(key, patterns));
      return true;
    } catch (err) {
      this.failedWrite(err);
      return false;
    }
  }

  /** Merges this process's entries into the index file on disk (atomic replace). */
  async saveIndex(): Promise<void> {
    if (!this.dirty || this.writeFailed) return;
    const onDisk = await this.readIndex();
    // An entry for an older version of the same file (other size, mtime or inode) can never
    // match again: drop it so the index does not grow with every rewrite.
    const supersede = <T>(target: Map<string, T>, mine: Map<string, T>): void => {
      const current = new Map([...mine.keys()].filter((k) => this.fresh.has(k)).map((k) => [identity(k), k]));
      const superseded = (k: string): boolean => {
        const newer = current.get(identity(k));
        return newer !== undefined && newer !== k;
      };
      for (const k of [...target.keys()]) if (superseded(k)) target.delete(k);
      for (const [k, v] of mine) if (!superseded(k)) target.set(k, v);
    };
    supersede(onDisk.entries, this.index);
    supersede(onDisk.files, this.files);
    for (const [name, ms] of this.computeMs) onDisk.computeMs.set(name, ms);
    const body = JSON.stringify({
      version: INDEX_VERSION,
      entries: Object.fromEntries(onDisk.entries),
      files: Object.fromEntries(onDisk.files),
      computeMs: Object.fromEntries(onDisk.computeMs),
    });
    try {
      await writeFileAtomic(join(this.dir, INDEX_FILE), body);
      this.dirty = false;
    } catch (err) {
      this.failedWrite(err);
    }
  }

  private failedWrite(err: unknown): void {
    if (this.strict) throw new EsmmError('CACHE', `cannot write pattern cache ${this.dir}: ${describeError(err)}`, { cause: err });
    if (!this.writeFailed) {
      this.onWarning(`pattern cache ${this.dir} is not writable (${describeError(err)}); patterns are computed in memory`);
    }
    this.writeFailed = true;
  }
}
