import { stat } from 'node:fs/promises';

import { readPtFile } from './read-pt-file.js';
import { readSafetensorsHeader } from './read-safetensors-header.js';
import { contiguousStrides, type TensorLocation } from './tensor-location.js';

interface CacheEntry {
  size: number;
  mtimeMs: number;
  locations: Promise<TensorLocation[]>;
}

/** Parsed headers by path; re-parsed when the file's size or mtime changes. */
const cache = new Map<string, CacheEntry>();
const MAX_CACHED_FILES = 4096;

async function parse(file: string): Promise<TensorLocation[]> {
  if (file.endsWith('.safetensors')) {
    const header = await readSafetensorsHeader(file);
    return header.entries.map((e) => ({
      file,
      name: e.name,
      format: 'safetensors' as const,
      dtype: e.dtype,
      shape: e.shape,
      strides: contiguousStrides(e.shape),
      storageByteOffset: header.dataStart + e.begin,
      storageOffset: 0,
      storageNumel: e.shape.reduce((a, b) => a * b, 1),
      bigEndian: false,
    }));
  }
  return readPtFile(file);
}

/** Every tensor of one weight file (safetensors or torch.save), in file order; throws BadFileError. */
export async function listFileTensors(file: string): Promise<TensorLocation[]> {
  const st = await stat(file);
  const hit = cache.get(file);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.locations;
  if (cache.size >= MAX_CACHED_FILES) cache.clear();
  const locations = parse(file);
  cache.set(file, { size: st.size, mtimeMs: st.mtimeMs, locations });
  locations.catch(() => cache.delete(file));
  return locations;
}
