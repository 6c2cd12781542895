/** ‖x − ref‖₂ / ‖ref‖₂ over two equally long arrays (the absolute norm when ref is all zeros). */
export function relativeError(x: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (x[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** max |x − ref| / max |ref| over two equally long arrays (the absolute maximum when ref is all zeros). */
export function maxAbsRelativeError(x: Float32Array, ref: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(x[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return scale === 0 ? err : err / scale;
}
