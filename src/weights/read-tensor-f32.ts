import { open, type FileHandle } from 'node:fs/promises';

import { BadFileError } from '../errors.js';
import { convertToF32, dtypeBytes, isFloatDtype, swapBytes } from './dtypes.js';
import { listFileTensors } from './list-file-tensors.js';
import { isContiguous, numelOf, storageExtent, type TensorLocation } from './tensor-location.js';
import type { TensorRef } from './types.js';

/** Bytes per read: large enough to amortise syscalls, small enough to bound the staging copy. */
export const READ_CHUNK_BYTES = 64 * 1024 * 1024;

/** Finds the stored location of a tensor a walk reported. */
export async function locateTensor(ref: Pick<TensorRef, 'file' | 'name'>): Promise<TensorLocation> {
  const loc = (await listFileTensors(ref.file)).find((l) => l.name === ref.name);
  if (!loc) throw new BadFileError(ref.file, `holds no tensor named "${ref.name}"`, 'NOT_FOUND');
  return loc;
}

async function readExactly(fh: FileHandle, file: string, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new BadFileError(file, `file ends at byte ${position + done}, inside tensor data`);
    done += bytesRead;
  }
}

/** Reads `count` elements from element `first` of the storage, converted to float32. */
async function readRunF32(fh: FileHandle, loc: TensorLocation, first: number, count: number): Promise<Float32Array> {
  const size = dtypeBytes(loc.dtype) as number;
  const out = new Float32Array(count);
  const perChunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / size));
  const staging = new Uint8Array(Math.min(count, perChunk) * size);
  for (let done = 0; done < count; done += perChunk) {
    const n = Math.min(perChunk, count - done);
    const view = staging.subarray(0, n * size);
    await readExactly(fh, loc.file, view, loc.storageByteOffset + (first + done) * size);
    if (loc.bigEndian) swapBytes(view, size);
    convertToF32(loc.dtype, view, 0, n, out, done);
  }
  return out;
}

/** Gathers a strided (e.g. transposed) tensor into row-major order from its storage span. */
function gather(span: Float32Array, loc: TensorLocation): Float32Array {
  const { shape, strides } = loc;
  const out = new Float32Array(numelOf(shape));
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = span[src];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Reads one tensor as row-major float32 of its stored shape. Only that tensor's bytes are read;
 * storage offsets and strides are honoured. bf16/f16 convert exactly, f64 rounds to nearest.
 */
export async function readTensorF32(ref: Pick<TensorRef, 'file' | 'name'>): Promise<Float32Array> {
  const loc = await locateTensor(ref);
  if (!isFloatDtype(loc.dtype)) {
    throw new BadFileError(ref.file, `tensor "${ref.name}" is ${loc.dtype}, not a float dtype`, 'UNSUPPORTED');
  }
  const fh = await open(loc.file, 'r');
  try {
    const numel = numelOf(loc.shape);
    if (numel === 0) return new Float32Array(0);
    if (isContiguous(loc)) return await readRunF32(fh, loc, loc.storageOffset, numel);
    const extent = storageExtent(loc);
    const span = await readRunF32(fh, loc, loc.storageOffset, extent - loc.storageOffset);
    return gather(span, { ...loc, storageOffset: 0 });
  } finally {
    await fh.close();
  }
}
