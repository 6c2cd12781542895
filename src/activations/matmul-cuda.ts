import type { NativeBinding } from '../native/types.js';
import type { Matmul } from './types.js';

/**
 * The forward pass's GEMM on the GPU: every projection through the addon's gemm (cuBLAS SGEMM in
 * plain float32, no TF32). nn.Linear weights ('out-in', [n, k]) go in transposed, Conv1D weights
 * ('in-out', [k, n]) as they are. Operands are copied to the device on every call.
 */
export function matmulCuda(native: Pick<NativeBinding, 'gemm'>, device?: number): Matmul {
  return ({ x, m, k, w, n, layout }) =>
    native.gemm({ a: x, b: w, m, k, n, transB: layout === 'out-in', ...(device !== undefined ? { device } : {}) });
}
