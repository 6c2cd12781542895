import { BadFileError } from '../errors.js';
import { readSafetensorsHeader } from '../weights/index.js';
import { INPUT_PREFIX } from './read-activation-dump.js';

/** What a dump holds, without its data: token count and the shape of every `input.<module>`. */
export interface ActivationDumpIndex {
  file: string;
  tokens: number;
  /** [tokens, in_features] by module name. */
  inputs: Map<string, number[]>;
}

/** The index of an activation dump from its header alone, so a large dump is read one module at a time. */
export async function readActivationDumpIndex(file: string): Promise<ActivationDumpIndex> {
  const header = await readSafetensorsHeader(file);
  const tokenEntry = header.entries.find((e) => e.name === 'tokens');
  if (!tokenEntry || tokenEntry.dtype !== 'I64' || tokenEntry.shape.length !== 1) {
    throw new BadFileError(file, 'is not an activation dump: no 1-D I64 "tokens" tensor');
  }
  const tokens = tokenEntry.shape[0];
  const inputs = new Map<string, number[]>();
  for (const e of header.entries) {
    if (!e.name.startsWith(INPUT_PREFIX)) continue;
    if (e.shape.length !== 2 || e.shape[0] !== tokens) {
      throw new BadFileError(file, `"${e.name}" has shape [${e.shape.join(', ')}], not [${tokens} tokens, features]`);
    }
    inputs.set(e.name.slice(INPUT_PREFIX.length), e.shape);
  }
  if (inputs.size === 0) throw new BadFileError(file, 'is not an activation dump: no input.<module> tensors');
  return { file, tokens, inputs };
}
