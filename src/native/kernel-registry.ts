import { loadNative } from './load-native.js';
import type { KernelRegistryEntry } from './types.js';

let cached: readonly KernelRegistryEntry[] | undefined;

/**
 * The addon's kernel registry (native/kernel_registry.cc), read once: every kernel id of every
 * backend with its role and tolerance, `built` saying which this build runs. Every build lists
 * them all, so a machine without a GPU still knows the GPU ids (`--kernels cublas`, the rows of a
 * CSV written on a GPU machine).
 */
export function kernelRegistry(): readonly KernelRegistryEntry[] {
  cached ??= loadNative().info().registry;
  return cached;
}
