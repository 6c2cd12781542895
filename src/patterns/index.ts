export { BK, TILE, bPatternBytes, blockSparsity, numKSlices, numTiles } from './pattern-layout.js';
export { elementSparsity, orientWeight, type OrientedB } from './orient-weight.js';
export {
  PATTERN_FORMAT_VERSION,
  PATTERN_HEADER_BYTES,
  PATTERN_MAGIC,
  decodePatternFile,
  encodePatternFile,
  patternFileName,
  readPatternFile,
  sha256Hex,
  writeFileAtomic,
  type PatternKey,
} from './pattern-file.js';
export { CACHE_DIR_ENV, DEFAULT_CACHE_FOLDER, PatternCache, resolveCacheDir, type IndexEntry } from './pattern-cache.js';
export { resolveBPatterns, type ResolveBPatternsParams, type ResolvedBPatterns } from './resolve-b-patterns.js';
export { resolveBackend, type BackendChoice } from './resolve-backend.js';
export { cacheTree, type CacheTreeEntry, type CacheTreeParams, type CacheTreeSummary } from './cache-tree.js';
export { bMemoryBytes, type BMemoryBytes } from './b-memory-bytes.js';
