import type { Matmul } from './types.js';

/**
 * The plain CPU GEMM of the forward pass, accumulating in float64 so the float32 result is the
 * correctly rounded product (closer to exact than a float32 BLAS, well inside 1e-5).
 */
export const matmulCpu: Matmul = async ({ x, m, k, w, n, layout }) => {
  const y = new Float32Array(m * n);
  if (layout === 'out-in') {
    for (let i = 0; i < m; i++) {
      const xi = i * k;
      for (let j = 0; j < n; j++) {
        const wj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += x[xi + p] * w[wj + p];
        y[i * n + j] = s;
      }
    }
    return y;
  }
  const acc = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    for (let p = 0; p < k; p++) {
      const v = x[i * k + p];
      if (v === 0) continue;
      const wp = p * n;
      for (let j = 0; j < n; j++) acc[j] += v * w[wp + j];
    }
    y.set(acc, i * n);
  }
  return y;
};
