/** FAST: the new run is faster; SLOW: slower; SAME: the difference is within noise or threshold. */
export type Verdict = 'FAST' | 'SLOW' | 'SAME';

/** Default smallest relative change of the median that counts as a difference. */
export const DEFAULT_COMPARE_THRESHOLD = 0.05;

export interface NoiseVerdict {
  verdict: Verdict;
  baseMedianMs: number;
  newMedianMs: number;
  /** (new median − base median) / base median. */
  deltaRel: number;
  /** Relative standard deviation (sample stdev / mean) of each run's samples; 0 for one sample. */
  noiseBase: number;
  noiseNew: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Sample standard deviation / mean; 0 for fewer than two samples or a zero mean. */
export function relativeStdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (mean === 0) return 0;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance) / mean;
}

/**
 * The verdict on one point from both runs' medians and noise, as nvbench's compare does: a
 * difference counts only when it exceeds the noise of both runs and the threshold,
 * |Δ| > max(threshold, noise_base, noise_new) with Δ = (median_new − median_base) / median_base;
 * then Δ < 0 is FAST and Δ > 0 SLOW. At exactly the bound it is SAME.
 */
export function noiseVerdict(
  base: { medianMs: number; noise: number },
  next: { medianMs: number; noise: number },
  threshold: number = DEFAULT_COMPARE_THRESHOLD,
): NoiseVerdict {
  const deltaRel = base.medianMs > 0 ? (next.medianMs - base.medianMs) / base.medianMs : next.medianMs === base.medianMs ? 0 : Infinity;
  const bound = Math.max(threshold, base.noise, next.noise);
  const verdict: Verdict = Math.abs(deltaRel) > bound ? (deltaRel < 0 ? 'FAST' : 'SLOW') : 'SAME';
  return { verdict, baseMedianMs: base.medianMs, newMedianMs: next.medianMs, deltaRel, noiseBase: base.noise, noiseNew: next.noise };
}

/** The verdict from both runs' timed samples (medians and relative stdevs computed here). */
export function samplesVerdict(base: readonly number[], next: readonly number[], threshold: number = DEFAULT_COMPARE_THRESHOLD): NoiseVerdict {
  return noiseVerdict(
    { medianMs: median(base), noise: relativeStdev(base) },
    { medianMs: median(next), noise: relativeStdev(next) },
    threshold,
  );
}
