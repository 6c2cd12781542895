import { open } from 'node:fs/promises';

import { validateTensorEntry, type TensorInfo } from '@huggingface/hub';

import { BadFileError } from '../errors.js';
import type { HeaderMap } from './plan-types.js';

/** Same ceiling as the hub library applies to remote headers. */
export const MAX_HEADER_BYTES = 25_000_000;

/** Reads and checks the JSON header of a local safetensors file (no tensor data is read). */
export async function readSafetensorsHeaderFile(file: string): Promise<HeaderMap> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new BadFileError(file, `cannot open (${err.code ?? err.message})`, err.code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_FILE');
  });
  try {
    const { size } = await fh.stat();
    if (size < 8) throw new BadFileError(file, `truncated: ${size} bytes, no header length`);
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const len = lenBuf.readBigUInt64LE(0);
    if (len === 0n || len > BigInt(MAX_HEADER_BYTES)) throw new BadFileError(file, `header length ${len} is out of range`);
    if (8n + len > BigInt(size)) throw new BadFileError(file, `header length ${len} runs past the end of the file (${size} bytes)`);
    const n = Number(len);
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, 8);
    let json: unknown;
    try {
      json = JSON.parse(buf.toString('utf8'));
    } catch {
      throw new BadFileError(file, 'header is not valid JSON');
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new BadFileError(file, 'header is not a JSON object');
    const dataBytes = size - 8 - n;
    const out: HeaderMap = {};
    for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      try {
        validateTensorEntry(file, name, info as TensorInfo, dataBytes);
      } catch (err) {
        throw new BadFileError(file, (err as Error).message.replace(/^Failed to parse file [^:]*: /, ''));
      }
      const t = info as TensorInfo;
      out[name] = { dtype: String(t.dtype), shape: [...t.shape] };
    }
    return out;
  } finally {
    await fh.close();
  }
}
