import { UsageError } from '../errors.js';

/** Rows of A in one ESMM pattern tile: the block-aware sparsifier zeroes whole (tile, k) columns of this height. */
export const A_TILE_ROWS = 32;

/** How a dump's activations are made sparse. */
export type Sparsifier =
  | { method: 'native' }
  | { method: 'teal'; sparsity: number }
  | { method: 'block'; sparsity: number; tileRows: number };

/** Parses `native`, `teal:<s>` or `block:<s>` (0 ≤ s < 1). */
export function parseSparsifier(spec: string): Sparsifier {
  if (spec === 'native') return { method: 'native' };
  const m = /^(teal|block):(.+)$/.exec(spec);
  const s = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(s) || s < 0 || s >= 1) {
    throw new UsageError(`--method takes native, teal:<s> or block:<s> with 0 ≤ s < 1, got '${spec}'`);
  }
  return m[1] === 'teal' ? { method: 'teal', sparsity: s } : { method: 'block', sparsity: s, tileRows: A_TILE_ROWS };
}
