import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { BadFileError } from '../errors.js';
import { isFloatDtype, listFileTensors, readTensorF32 } from '../weights/index.js';
import type { Checkpoint, Tensor } from './types.js';

const INDEX_FILE = 'model.safetensors.index.json';
const SINGLE_FILES = ['model.safetensors', 'pytorch_model.bin'];

/** The weight files of an HF-layout folder, as transformers picks them: the sharded index first, then the single file. */
async function weightFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => {
    throw new BadFileError(dir, 'not a readable folder');
  });
  if (entries.includes(INDEX_FILE)) {
    const file = join(dir, INDEX_FILE);
    let map: unknown;
    try {
      map = (JSON.parse(await readFile(file, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (err) {
      throw new BadFileError(file, `not valid JSON (${(err as Error).message})`);
    }
    if (typeof map !== 'object' || map === null) throw new BadFileError(file, 'has no "weight_map" object');
    return [...new Set(Object.values(map as Record<string, string>))].map((f) => resolve(dirname(file), f));
  }
  const single = SINGLE_FILES.find((f) => entries.includes(f));
  if (single) return [join(dir, single)];
  const any = entries.filter((f) => f.endsWith('.safetensors'));
  if (any.length === 1) return [join(dir, any[0])];
  throw new BadFileError(dir, `no ${INDEX_FILE}, model.safetensors or pytorch_model.bin${any.length > 1 ? ` (and ${any.length} other .safetensors files, none of them the model's)` : ''}`, 'NOT_FOUND');
}

/** Reads every float tensor of an HF-layout checkpoint into memory as float32 (small models only). */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const tensors = new Map<string, Tensor>();
  for (const file of await weightFiles(dir)) {
    for (const loc of await listFileTensors(file)) {
      if (!isFloatDtype(loc.dtype)) continue;
      tensors.set(loc.name, { data: await readTensorF32({ file, name: loc.name }), shape: loc.shape });
    }
  }
  return { get: (name) => tensors.get(name), names: () => [...tensors.keys()] };
}
