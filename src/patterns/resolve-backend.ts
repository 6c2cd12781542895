import { UsageError } from '../errors.js';
import type { NativeBinding } from '../native/types.js';

export type BackendChoice = 'auto' | 'cpu' | 'cuda';

function cudaUsable(native: NativeBinding): boolean {
  if (!native.info().backends.includes('cuda')) return false;
  try {
    return native.devices().length > 0;
  } catch {
    return false;
  }
}

/** 'auto' picks cuda when the addon was built with it and sees a device, else cpu. */
export function resolveBackend(native: NativeBinding, requested: BackendChoice): 'cpu' | 'cuda' {
  if (requested === 'cpu') return 'cpu';
  const cuda = cudaUsable(native);
  if (requested === 'cuda') {
    if (!cuda) throw new UsageError('--backend cuda: no CUDA device is usable (run `esmm-bench doctor`)');
    return 'cuda';
  }
  return cuda ? 'cuda' : 'cpu';
}
