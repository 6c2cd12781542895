import { rename, writeFile } from 'node:fs/promises';

/** A tensor to write: float32 activations or int64 token ids. */
export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

/**
 * Writes a safetensors file (header padded to 8 bytes, tensors in the given order) through a
 * temporary file and a rename, so a reader never sees half a dump. Metadata values are strings,
 * as the format requires.
 */
export async function writeSafetensors(file: string, tensors: TensorToWrite[], metadata: Record<string, string>): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.data.byteLength;
    header[t.name] = { dtype: t.data instanceof BigInt64Array ? 'I64' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts = [len, Buffer.from(json, 'utf8'), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, Buffer.concat(parts));
  await rename(tmp, file);
}
