import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { median, noiseVerdict, relativeStdev, samplesVerdict } from '../../src/output/noise-verdict.js';
import { paybackCalls } from '../../src/output/payback-calls.js';

/** n samples with the given mean and relative stdev exactly (half at mean·(1−a), half at mean·(1+a)). */
function spread(mean: number, rel: number, n = 10): number[] {
  // Sample stdev of ±d around the mean over n values is d·sqrt(n/(n−1)).
  const d = (rel * mean) / Math.sqrt(n / (n - 1));
  return Array.from({ length: n }, (_, i) => (i % 2 ? mean + d : mean - d));
}

describe('the FAST/SLOW/SAME rule at its edges', () => {
  it('median and relative stdev of samples', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(relativeStdev([5]), 0);
    assert.ok(Math.abs(relativeStdev(spread(2, 0.1)) - 0.1) < 1e-12);
  });

  it('exactly at the threshold is SAME; just past it is SLOW or FAST', () => {
    const quiet = (ms: number) => ({ medianMs: ms, noise: 0 });
    assert.equal(noiseVerdict(quiet(100), quiet(105), 0.05).verdict, 'SAME');
    assert.equal(noiseVerdict(quiet(100), quiet(95), 0.05).verdict, 'SAME');
    assert.equal(noiseVerdict(quiet(100), quiet(105.001), 0.05).verdict, 'SLOW');
    assert.equal(noiseVerdict(quiet(100), quiet(94.999), 0.05).verdict, 'FAST');
    assert.equal(noiseVerdict(quiet(100), quiet(100), 0).verdict, 'SAME');
    assert.equal(noiseVerdict(quiet(100), quiet(100.001), 0).verdict, 'SLOW');
  });

  it('a change must also exceed the noise of each run, whichever is larger', () => {
    // 8% slower: past a 5% threshold, but within a 10% noise on either side.
    assert.equal(noiseVerdict({ medianMs: 100, noise: 0.1 }, { medianMs: 108, noise: 0.01 }, 0.05).verdict, 'SAME');
    assert.equal(noiseVerdict({ medianMs: 100, noise: 0.01 }, { medianMs: 108, noise: 0.1 }, 0.05).verdict, 'SAME');
    assert.equal(noiseVerdict({ medianMs: 100, noise: 0.079 }, { medianMs: 108, noise: 0.079 }, 0.05).verdict, 'SLOW');
    assert.equal(noiseVerdict({ medianMs: 100, noise: 0.08 }, { medianMs: 108, noise: 0 }, 0.05).verdict, 'SAME');
    assert.equal(noiseVerdict({ medianMs: 100, noise: 0.079 }, { medianMs: 92, noise: 0.079 }, 0.05).verdict, 'FAST');
  });

  it('from samples: medians and noise come from the samples themselves', () => {
    const v = samplesVerdict(spread(1, 0.02), spread(1.1, 0.02), 0.05);
    assert.equal(v.verdict, 'SLOW');
    assert.ok(Math.abs(v.deltaRel - 0.1) < 1e-12);
    assert.ok(Math.abs(v.noiseBase - 0.02) < 1e-12);
    // The same 10% change inside 12% noise of the new run is SAME.
    assert.equal(samplesVerdict(spread(1, 0.02), spread(1.1, 0.12), 0.05).verdict, 'SAME');
    assert.equal(samplesVerdict([1, 1, 1], [1, 1, 1]).verdict, 'SAME');
  });
});

describe('payback calls', () => {
  it('is the pattern time over the saving against the fastest dense baseline; null when ESMM is not faster', () => {
    assert.equal(paybackCalls({ bPatternMs: 3, esmmTotalMs: 2.5, baselineMs: [4, 5] }), 2);
    assert.equal(paybackCalls({ bPatternMs: 3, esmmTotalMs: 2.5, baselineMs: [5, 2.5] }), null);
    assert.equal(paybackCalls({ bPatternMs: 3, esmmTotalMs: 2.5, baselineMs: [2] }), null);
    assert.equal(paybackCalls({ bPatternMs: null, esmmTotalMs: 2.5, baselineMs: [4] }), null);
    assert.equal(paybackCalls({ bPatternMs: 3, esmmTotalMs: 2.5, baselineMs: [] }), null);
  });
});
