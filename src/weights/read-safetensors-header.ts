import { open } from 'node:fs/promises';

import { SafetensorParseError, validateTensorEntry, type TensorInfo } from '@huggingface/hub';

import { BadFileError } from '../errors.js';
import { dtypeBytes } from './dtypes.js';

/** Headers above this are refused before any allocation (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range relative to the start of the data area. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Absolute file offset where the data area begins (8 + header length). */
  dataStart: number;
  fileBytes: number;
  /** Entries in file order (ascending data offset). */
  entries: SafetensorsEntry[];
  metadata?: Record<string, unknown>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads and validates a safetensors header; the tensor data is not read. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const shown = file;
  const fail = (why: string): never => {
    throw new BadFileError(shown, why);
  };
  const fh = await open(file, 'r');
  try {
    const fileBytes = (await fh.stat()).size;
    if (fileBytes < 8) fail(`file is ${fileBytes} bytes, too short for a safetensors header`);
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) {
      fail(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    }
    const n = Number(headerLen);
    if (8 + n > fileBytes) fail(`header length ${n} runs past the end of the file (${fileBytes} bytes)`);
    const headerBuf = Buffer.alloc(n);
    await fh.read(headerBuf, 0, n, 8);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(headerBuf);
    } catch {
      return fail('header is not valid UTF-8');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return fail(`header is not valid JSON (${(err as Error).message})`);
    }
    if (!isPlainObject(parsed)) return fail(`header is not a JSON object`);
    const dataStart = 8 + n;
    const dataBytes = fileBytes - dataStart;
    const entries: SafetensorsEntry[] = [];
    let metadata: Record<string, unknown> | undefined;
    for (const [name, raw] of Object.entries(parsed)) {
      if (name === '__metadata__') {
        // As the reference reader: absent, null, or a map of strings to strings.
        if (raw === null) continue;
        if (!isPlainObject(raw)) fail(`__metadata__ is not a JSON object of strings`);
        const bad = Object.entries(raw as Record<string, unknown>).find(([, v]) => typeof v !== 'string');
        if (bad) fail(`__metadata__ value of "${bad[0]}" is not a string`);
        metadata = raw as Record<string, unknown>;
        continue;
      }
      if (!isPlainObject(raw)) fail(`tensor "${name}" is not a JSON object`);
      const info = raw as Record<string, unknown>;
      if (typeof info.dtype !== 'string') fail(`tensor "${name}" has no dtype`);
      const size = dtypeBytes(info.dtype as string);
      if (size === undefined) fail(`tensor "${name}" has unknown dtype ${JSON.stringify(info.dtype)}`);
      try {
        validateTensorEntry(shown, name, info as unknown as TensorInfo, undefined);
      } catch (err) {
        if (err instanceof SafetensorParseError) {
          fail(err.message.replace(/^Failed to parse file [^:]*: /, ''));
        }
        throw err;
      }
      const shape = (info.shape as number[]).slice();
      const [begin, end] = info.data_offsets as [number, number];
      if (end > dataBytes) {
        fail(`tensor "${name}" data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes)`);
      }
      const numel = shape.reduce((a, b) => a * b, 1);
      const expected = numel * (size as number);
      if (end - begin !== expected) {
        fail(
          `tensor "${name}" spans ${end - begin} bytes but shape [${shape.join(', ')}] × ${info.dtype} needs ${expected}`,
        );
      }
      entries.push({ name, dtype: info.dtype as string, shape, begin, end });
    }
    entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
    // The reference reader's rule: tensors tile the data area exactly, without overlap or hole.
    let at = 0;
    for (let i = 0; i < entries.length; i++) {
      const cur = entries[i];
      if (i > 0 && cur.begin < entries[i - 1].end) {
        fail(`tensors "${entries[i - 1].name}" and "${cur.name}" overlap (bytes ${cur.begin}–${entries[i - 1].end})`);
      }
      if (cur.begin > at) {
        fail(`hole of ${cur.begin - at} bytes before tensor "${cur.name}" (bytes ${at}–${cur.begin} belong to no tensor)`);
      }
      at = cur.end;
    }
    if (at !== dataBytes) fail(`${dataBytes - at} bytes after the last tensor belong to no tensor`);
    return { dataStart, fileBytes, entries, ...(metadata ? { metadata } : {}) };
  } finally {
    await fh.close();
  }
}
