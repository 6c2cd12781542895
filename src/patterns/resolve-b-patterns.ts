import { performance } from 'node:perf_hooks';

import type { NativeBinding } from '../native/types.js';
import type { Orientation, TensorRef } from '../weights/types.js';
import { type OrientedB, orientWeight } from './orient-weight.js';
import type { PatternCache } from './pattern-cache.js';
import { type PatternKey, sha256Hex } from './pattern-file.js';

export interface ResolveBPatternsParams {
  ref: TensorRef;
  orientation: Orientation;
  /** null: no cache, patterns are computed in memory. */
  cache: PatternCache | null;
  native: NativeBinding;
  backend: 'cpu' | 'cuda';
  device?: number;
  readTensor: (ref: TensorRef) => Promise<Float32Array>;
  /** The caller needs B itself (a benchmark); false lets a cache hit skip reading the tensor. */
  needData: boolean;
}

export interface ResolvedBPatterns {
  patterns: Uint8Array;
  /** 'cache': a valid cache file; 'computed': computed now (and stored when the cache is writable). */
  source: 'cache' | 'computed';
  /** Why the cache file was not used, when it was not ('missing', 'tensor content changed', …). */
  cacheMiss?: string;
  key: PatternKey;
  /** B as oriented; null when a cache hit made reading the tensor unnecessary. */
  oriented: OrientedB | null;
  loadMs: number;
  convertMs: number;
  patternMs: number;
}

/** B patterns for one tensor: from the cache when a valid file exists, else computed and stored. */
export async function resolveBPatterns(p: ResolveBPatternsParams): Promise<ResolvedBPatterns> {
  const [rows, cols] = p.ref.shape;
  let loadMs = 0;
  let convertMs = 0;
  let patternMs = 0;
  let oriented: OrientedB | null = null;

  const load = async (): Promise<OrientedB> => {
    const t0 = performance.now();
    const data = await p.readTensor(p.ref);
    const t1 = performance.now();
    const result = orientWeight(data, rows, cols, p.orientation);
    loadMs += t1 - t0;
    convertMs += performance.now() - t1;
    return result;
  };

  const t0 = performance.now();
  const tensorKey = p.cache ? await p.cache.tensorKey(p.ref, p.orientation) : null;
  const known = tensorKey !== null ? p.cache!.lookup(tensorKey) : undefined;
  patternMs += performance.now() - t0;

  let cacheMiss: string | undefined;
  if (known && p.cache) {
    const key: PatternKey = { contentSha: known.contentSha, k: known.k, n: known.n, orientation: p.orientation };
    const t = performance.now();
    const hit = await p.cache.load(key);
    patternMs += performance.now() - t;
    if ('patterns' in hit) {
      if (p.needData) oriented = await load();
      return { patterns: hit.patterns, source: 'cache', key, oriented, loadMs, convertMs, patternMs };
    }
    cacheMiss = hit.invalid;
  }

  oriented = await load();
  const t1 = performance.now();
  const key: PatternKey = { contentSha: sha256Hex(oriented.b), k: oriented.k, n: oriented.n, orientation: p.orientation };
  if (p.cache && tensorKey !== null) {
    p.cache.remember(tensorKey, { contentSha: key.contentSha, k: key.k, n: key.n });
    // The same content may already be cached under another file name or an older index entry.
    const hit = await p.cache.load(key);
    if ('patterns' in hit) {
      patternMs += performance.now() - t1;
      return { patterns: hit.patterns, source: 'cache', key, oriented, loadMs, convertMs, patternMs };
    }
    cacheMiss = hit.invalid;
  }
  const patterns = await p.native.computePatterns({
    data: oriented.b,
    rows: oriented.k,
    cols: oriented.n,
    operand: 'B',
    backend: p.backend,
    ...(p.device !== undefined ? { device: p.device } : {}),
  });
  if (p.cache) await p.cache.store(key, patterns);
  patternMs += performance.now() - t1;
  return {
    patterns,
    source: 'computed',
    ...(cacheMiss !== undefined ? { cacheMiss } : {}),
    key,
    oriented: p.needData ? oriented : null,
    loadMs,
    convertMs,
    patternMs,
  };
}
