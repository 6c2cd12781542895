import type { NativeBinding } from './types.js';

/** True when the addon was built with the CUDA backend and sees at least one device. */
export function hasCuda(native: NativeBinding): boolean {
  return native.info().backends.includes('cuda') && native.devices().length > 0;
}
