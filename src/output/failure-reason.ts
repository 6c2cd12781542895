import type { KernelResult } from '../native/types.js';

/**
 * The `reason` of a row whose benchmark failed: an error code, where (file#tensor, or the
 * synthetic point) and the one-line message, e.g.
 * `WRONG_RESULT model/layer.pt#w: 38 elements are NaN/Inf (unwritten, or non-finite input)`.
 */
export function failureReason(code: string, where: string, message: string): string {
  return `${code} ${where}: ${message}`;
}

/** The code of a kernel that ran but produced no usable time: the addon's, else by what went wrong. */
export function kernelFailureCode(kernel: KernelResult | undefined): string {
  if (!kernel) return 'INTERNAL';
  return kernel.errorCode ?? (kernel.ok || /NaN|Inf|verification/.test(kernel.error ?? '') ? 'WRONG_RESULT' : 'KERNEL_FAILED');
}
