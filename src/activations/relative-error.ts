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
