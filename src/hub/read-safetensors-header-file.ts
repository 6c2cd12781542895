import { readSafetensorsHeader } from '../weights/read-safetensors-header.js';
import type { HeaderMap } from './plan-types.js';

/**
 * The tensor entries of a local safetensors file, in the shape the planner uses for remote
 * headers. Reading and validation are the weights stage's (one reader for the whole tool).
 */
export async function readSafetensorsHeaderFile(file: string): Promise<HeaderMap> {
  const header = await readSafetensorsHeader(file);
  const out: HeaderMap = {};
  for (const e of header.entries) out[e.name] = { dtype: e.dtype, shape: [...e.shape] };
  return out;
}
