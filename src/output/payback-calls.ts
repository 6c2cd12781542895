/**
 * Calls of ESMM it takes for its saving per call to repay the one-off B-pattern computation:
 * bPatternMs / (best dense baseline ms − ESMM total ms). Null when ESMM is not faster than
 * the best baseline, or a time is missing.
 */
export function paybackCalls(p: { bPatternMs: number | null; esmmTotalMs: number | null; baselineMs: number[] }): number | null {
  if (p.bPatternMs === null || p.esmmTotalMs === null || p.baselineMs.length === 0) return null;
  const saving = Math.min(...p.baselineMs) - p.esmmTotalMs;
  return saving > 0 ? p.bPatternMs / saving : null;
}
