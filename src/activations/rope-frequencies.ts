import type { LlamaConfig } from './types.js';

/** The rotary inverse frequencies (float32, as transformers computes them), with rope_scaling applied. */
export function ropeFrequencies(config: Pick<LlamaConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float32Array {
  const half = config.headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / config.ropeTheta ** (Math.fround((2 * i) / config.headDim));
  const s = config.ropeScaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] /= s.factor;
  } else if (s?.type === 'llama3') {
    const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositions / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) {
        inv[i] = inv[i] / s.factor;
      } else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** Rotates each head of x [T, heads·d] in place by its token's position (rotate_half convention). */
export function applyRope(x: Float32Array, tokens: number, heads: number, headDim: number, invFreq: Float32Array): void {
  const half = headDim / 2;
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(t * invFreq[i]);
      const cos = Math.fround(Math.cos(angle));
      const sin = Math.fround(Math.sin(angle));
      for (let h = 0; h < heads; h++) {
        const o = t * heads * headDim + h * headDim;
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        x[o + i] = x1 * cos - x2 * sin;
        x[o + i + half] = x2 * cos + x1 * sin;
      }
    }
  }
}
