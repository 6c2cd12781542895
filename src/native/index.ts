export { loadNative, ADDON_RELATIVE_PATH } from './load-native.js';
export { hasCuda } from './has-cuda.js';
export { kernelRegistry } from './kernel-registry.js';
export type * from './types.js';
