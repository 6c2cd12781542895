/** What sparsifying the activations cost, measured on the logits against the dense pass. */
export interface LogitQuality {
  /** Largest |sparse − dense| over every logit. */
  maxLogitDrift: number;
  /** Mean over tokens of KL(p_dense ‖ p_sparse), nats. */
  klDivergence: number;
  /** Fraction of tokens whose argmax is unchanged. */
  top1Agreement: number;
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Max logit drift, KL divergence and top-1 agreement of sparse logits against dense ones, both [rows, vocab]. */
export function logitQuality(dense: Float32Array, sparse: Float32Array, rows: number, vocab: number): LogitQuality {
  let drift = 0;
  let kl = 0;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    const d = dense.subarray(r * vocab, r * vocab + vocab);
    const s = sparse.subarray(r * vocab, r * vocab + vocab);
    for (let i = 0; i < vocab; i++) drift = Math.max(drift, Math.abs(d[i] - s[i]));
    const ld = logSoftmax(d);
    const ls = logSoftmax(s);
    for (let i = 0; i < vocab; i++) kl += Math.exp(ld[i]) * (ld[i] - ls[i]);
    if (argmax(d) === argmax(s)) agree++;
  }
  return { maxLogitDrift: drift, klDivergence: kl / rows, top1Agreement: agree / rows };
}
