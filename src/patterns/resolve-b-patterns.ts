import { performance } from 'node:perf_hooks';

import type { NativeBinding } from '../native/types.js';
import type { Orientation, TensorRef } from '../weights/types.js';
import { type OrientedB, orientWeightAsync } from './orient-weight.js';
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
  /** B as oriented, with W's zero count; null when a cache hit made reading the tensor unnecessary. */
  oriented: (OrientedB & { zeros: number }) | null;
  loadMs: number;
  convertMs: number;
  patternMs: number;
  /**
   * The B-pattern computation alone, ms: measured when computed now; on a cache hit the time
   * the cache recorded when it computed them; null when it recorded none.
   */
  computeMs: number | null;
}

/** B patterns for one tensor: from the cache when a valid file exists, else computed and stored. */
export async function resolveBPatterns(p: ResolveBPatternsParams): Promise<ResolvedBPatterns> {
  const [rows, cols] = p.ref.shape;
  const { k, n } = p.orientation === 'raw' ? { k: rows, n: cols } : { k: cols, n: rows };
  let loadMs = 0;
  let convertMs = 0;
  let patternMs = 0;

  const load = async (): Promise<Float32Array> => {
    const t0 = performance.now();
    const data = await p.readTensor(p.ref);
    loadMs += performance.now() - t0;
    return data;
  };
  const orient = async (data: Float32Array): Promise<OrientedB & { zeros: number }> => {
    const t0 = performance.now();
    const oriented = await orientWeightAsync(data, rows, cols, p.orientation);
    convertMs += performance.now() - t0;
    return oriented;
  };

  const t0 = performance.now();
  const tensorKey = p.cache ? await p.cache.tensorKey(p.ref, p.orientation) : null;
  const known = tensorKey !== null ? p.cache!.lookup(tensorKey) : undefined;
  patternMs += performance.now() - t0;

  let cacheMiss: string | undefined;
  if (known && p.cache && known.k === k && known.n === n) {
    const key: PatternKey = { contentSha: known.contentSha, k, n, orientation: p.orientation };
    const t = performance.now();
    const hit = await p.cache.load(key);
    patternMs += performance.now() - t;
    if ('patterns' in hit) {
      const oriented = p.needData ? await orient(await load()) : null;
      const computeMs = p.cache.lookupComputeMs(key) ?? null;
      return { patterns: hit.patterns, source: 'cache', key, oriented, loadMs, convertMs, patternMs, computeMs };
    }
    cacheMiss = hit.invalid;
  }

  const data = await load();
  // The transpose runs on worker threads while this thread hashes and the addon computes patterns.
  const orienting = p.needData ? orient(data) : null;
  const t1 = performance.now();
  const key: PatternKey = { contentSha: sha256Hex(data), k, n, orientation: p.orientation };
  let patterns: Uint8Array | undefined;
  if (p.cache && tensorKey !== null) {
    p.cache.remember(tensorKey, { contentSha: key.contentSha, k, n });
    // The same content may already be cached (a copied file, an index entry lost).
    const hit = await p.cache.load(key);
    if ('patterns' in hit) patterns = hit.patterns;
    else cacheMiss = hit.invalid;
  }
  const source = patterns ? 'cache' : 'computed';
  let computeMs = patterns && p.cache ? (p.cache.lookupComputeMs(key) ?? null) : null;
  if (!patterns) {
    const tc = performance.now();
    // B = Wᵀ's patterns (32-column tiles of B) are W's A-layout patterns (32-row tiles of W),
    // byte for byte (kernels/patterns.h), so no transpose is needed to compute them.
    patterns = await p.native.computePatterns({
      data,
      rows,
      cols,
      operand: p.orientation === 'raw' ? 'B' : 'A',
      backend: p.backend,
      ...(p.device !== undefined ? { device: p.device } : {}),
    });
    computeMs = performance.now() - tc;
    if (p.cache && (await p.cache.store(key, patterns))) p.cache.rememberComputeMs(key, computeMs);
  }
  patternMs += performance.now() - t1;
  return {
    patterns,
    source,
    ...(cacheMiss !== undefined && source === 'computed' ? { cacheMiss } : {}),
    key,
    oriented: orienting ? await orienting : null,
    loadMs,
    convertMs,
    patternMs,
    computeMs,
  };
}
