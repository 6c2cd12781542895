/**
 * esmm-bench as a library: each stage of the data flow (DESIGN.md), in order, then the
 * pipeline that wires them together. The CLI (cli.ts) is a thin layer over these.
 */
export * from './errors.js';
export * from './weights/index.js';
export * from './hub/index.js';
export * from './activations/index.js';
export * from './native/index.js';
export * from './patterns/index.js';
export * from './bench/index.js';
export * from './output/index.js';
export { VERSION } from './version.js';
