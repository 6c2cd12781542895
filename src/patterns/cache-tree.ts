import { performance } from 'node:perf_hooks';

import { describeError, errorCode } from '../errors.js';
import type { NativeBinding } from '../native/types.js';
import type { Orientation, TensorRef, WalkResult } from '../weights/types.js';
import { PatternCache } from './pattern-cache.js';
import { resolveBPatterns } from './resolve-b-patterns.js';

export interface CacheTreeParams {
  /** Tensors found by the walk; skipped records are counted, not read. */
  walk: WalkResult;
  cacheDir: string;
  orientation: Orientation;
  backend: 'cpu' | 'cuda';
  device?: number;
  native: NativeBinding;
  readTensor: (ref: TensorRef) => Promise<Float32Array>;
  onTensor?: (entry: CacheTreeEntry) => void;
}

export interface CacheTreeEntry {
  file: string;
  tensor: string;
  status: 'computed' | 'reused' | 'skipped' | 'failed';
  /** Why it was computed rather than reused, or why it was skipped or failed. */
  reason?: string;
  k?: number;
  n?: number;
}

export interface CacheTreeSummary {
  cacheDir: string;
  backend: 'cpu' | 'cuda';
  computed: number;
  reused: number;
  skipped: number;
  failed: number;
  wallMs: number;
  entries: CacheTreeEntry[];
}

/** Fills the pattern cache for every tensor of a walk (`esmm-bench cache`). */
export async function cacheTree(p: CacheTreeParams): Promise<CacheTreeSummary> {
  const t0 = performance.now();
  const cache = await PatternCache.open(p.cacheDir, { strict: true });
  const entries: CacheTreeEntry[] = [];
  const push = (entry: CacheTreeEntry): void => {
    entries.push(entry);
    p.onTensor?.(entry);
  };
  for (const skip of p.walk.skipped) {
    push({ file: skip.file, tensor: skip.name ?? '', status: 'skipped', reason: skip.reason });
  }
  try {
    for (const ref of p.walk.tensors) {
      try {
        const r = await resolveBPatterns({
          ref,
          orientation: ref.orientation ?? p.orientation,
          cache,
          native: p.native,
          backend: p.backend,
          ...(p.device !== undefined ? { device: p.device } : {}),
          readTensor: p.readTensor,
          needData: false,
        });
        push({
          file: ref.file,
          tensor: ref.name,
          status: r.source === 'cache' ? 'reused' : 'computed',
          ...(r.cacheMiss !== undefined && r.source === 'computed' ? { reason: r.cacheMiss } : {}),
          k: r.key.k,
          n: r.key.n,
        });
      } catch (err) {
        if (errorCode(err) === 'CACHE') throw err;
        const status = errorCode(err) === 'BAD_FILE' || errorCode(err) === 'UNSAFE_PICKLE' ? 'skipped' : 'failed';
        push({ file: ref.file, tensor: ref.name, status, reason: describeError(err) });
      }
    }
  } finally {
    await cache.saveIndex();
  }
  const count = (s: CacheTreeEntry['status']): number => entries.filter((e) => e.status === s).length;
  return {
    cacheDir: cache.dir,
    backend: p.backend,
    computed: count('computed'),
    reused: count('reused'),
    skipped: count('skipped'),
    failed: count('failed'),
    wallMs: performance.now() - t0,
    entries,
  };
}
