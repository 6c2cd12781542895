export { loadNative, ADDON_RELATIVE_PATH } from './load-native.js';
export { hasCuda } from './has-cuda.js';
export type * from './types.js';
