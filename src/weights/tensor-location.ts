import type { SourceDtype } from './types.js';

/** Where one tensor's elements lie in its file: enough to read it without re-parsing. */
export interface TensorLocation {
  file: string;
  name: string;
  format: 'safetensors' | 'pt';
  dtype: SourceDtype;
  shape: number[];
  /** Element strides; row-major contiguous for safetensors. */
  strides: number[];
  /** Absolute file offset of the storage's first byte. */
  storageByteOffset: number;
  /** Elements from the storage start to the tensor's first element. */
  storageOffset: number;
  /** Elements in the storage (bounds every read). */
  storageNumel: number;
  bigEndian: boolean;
}

export function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function numelOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** True when the tensor's elements are one row-major run in the storage. */
export function isContiguous(loc: Pick<TensorLocation, 'shape' | 'strides'>): boolean {
  const want = contiguousStrides(loc.shape);
  return loc.shape.every((d, i) => d <= 1 || loc.strides[i] === want[i]);
}

/** One past the highest storage element the tensor touches (0 for an empty tensor). */
export function storageExtent(loc: Pick<TensorLocation, 'shape' | 'strides' | 'storageOffset'>): number {
  if (loc.shape.some((d) => d === 0)) return 0;
  let last = loc.storageOffset;
  for (let i = 0; i < loc.shape.length; i++) last += (loc.shape[i] - 1) * loc.strides[i];
  return last + 1;
}
