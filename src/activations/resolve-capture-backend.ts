import { EsmmError } from '../errors.js';
import { loadNative } from '../native/load-native.js';
import type { NativeBinding } from '../native/types.js';
import type { ForwardDevice } from './types.js';
import { resolveBackend, type BackendChoice } from '../patterns/resolve-backend.js';

export interface CaptureBackend {
  backend: 'cpu' | 'cuda';
  /** The addon, when the backend is cuda. */
  native?: NativeBinding;
}

/**
 * Where `capture` runs its forward pass. 'cpu' never loads the addon. 'auto' picks cuda when the
 * addon loads, was built with cuBLAS and sees a CUDA device, and cpu otherwise. 'cuda' insists:
 * it fails when any of those is missing.
 */
export function resolveCaptureBackend(requested: BackendChoice, load: () => NativeBinding = loadNative): CaptureBackend {
  if (requested === 'cpu') return { backend: 'cpu' };
  let native: NativeBinding;
  try {
    native = load();
  } catch (err) {
    if (requested === 'auto') return { backend: 'cpu' };
    throw err;
  }
  const backend = resolveBackend(native, requested);
  if (backend === 'cpu') return { backend };
  if (native.info().cublas === undefined) {
    if (requested === 'auto') return { backend: 'cpu' };
    throw new EsmmError('NO_BACKEND', '--backend cuda: capture multiplies with cuBLAS, and this addon was built without it (rebuild with the CUDA toolkit\'s cuBLAS)');
  }
  return { backend, native };
}

/** The forward pass's device for a resolved backend: the addon's first CUDA device, or none (cpu). */
export function forwardDeviceOf(resolved: CaptureBackend): { device?: ForwardDevice } {
  return resolved.native ? { device: { tensors: resolved.native.deviceTensors, index: 0 } } : {};
}
