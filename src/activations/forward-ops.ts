/** The element-wise and attention steps of the forward passes (float64 arithmetic, float32 storage). */

/** RMSNorm of each row, times weight (transformers' LlamaRMSNorm). */
export function rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[o + c] * x[o + c];
    const inv = 1 / Math.sqrt(ss / cols + eps);
    // transformers rounds the normalised value to the input dtype before the weight multiplies it.
    for (let c = 0; c < cols; c++) y[o + c] = weight[c] * Math.fround(x[o + c] * inv);
  }
  return y;
}

/** LayerNorm of each row (biased variance), times weight plus bias. */
export function layerNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, bias: Float32Array, eps: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += x[o + c];
    mean /= cols;
    let v = 0;
    for (let c = 0; c < cols; c++) v += (x[o + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / cols + eps);
    for (let c = 0; c < cols; c++) y[o + c] = (x[o + c] - mean) * inv * weight[c] + bias[c];
  }
  return y;
}

/** Adds a bias to every row in place. */
export function addBias(y: Float32Array, cols: number, bias: Float32Array | undefined): void {
  if (!bias) return;
  for (let i = 0; i < y.length; i++) y[i] += bias[i % cols];
}

/** x += y in place (residual). */
export function addInPlace(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

/** erf to ~1e-7 (Numerical Recipes' erfc Chebyshev fit); JavaScript has none. */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

/** The activation functions of transformers' ACT2FN that these models use. */
export function activation(name: string): (x: number) => number {
  switch (name) {
    case 'silu':
    case 'swish':
      return (x) => x / (1 + Math.exp(-x));
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'gelu':
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    default:
      throw new Error(`activation "${name}" is not reproduced (supported: silu, relu, gelu, gelu_new, gelu_pytorch_tanh)`);
  }
}

/**
 * Causal multi-head attention over T tokens. q is [T, heads·d]; k and v are [T, kvHeads·d]
 * (grouped-query: query head h reads key/value head ⌊h·kvHeads/heads⌋). Returns [T, heads·d].
 * A window w lets token i see tokens j with i − w < j ≤ i.
 */
export function causalAttention(p: {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  tokens: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  window?: number | null;
}): Float32Array {
  const { q, k, v, tokens: t, heads, kvHeads, headDim: d, scale } = p;
  const out = new Float32Array(t * heads * d);
  const group = heads / kvHeads;
  const scores = new Float64Array(t);
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    for (let i = 0; i < t; i++) {
      const first = p.window ? Math.max(0, i - p.window + 1) : 0;
      const qo = i * heads * d + h * d;
      let max = -Infinity;
      for (let j = first; j <= i; j++) {
        const ko = j * kvHeads * d + g * d;
        let s = 0;
        for (let c = 0; c < d; c++) s += q[qo + c] * k[ko + c];
        scores[j] = s * scale;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = first; j <= i; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let j = first; j <= i; j++) s += scores[j] * v[j * kvHeads * d + g * d + c];
        out[qo + c] = s / sum;
      }
    }
  }
  return out;
}
