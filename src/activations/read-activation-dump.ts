import { open } from 'node:fs/promises';

import { BadFileError } from '../errors.js';
import { readSafetensorsHeader, readTensorF32 } from '../weights/index.js';
import type { ActivationDump, Tensor } from './types.js';

/** The prefix of an activation tensor's name: `input.<module>`. */
export const INPUT_PREFIX = 'input.';

/** Reads an activation dump (`input.<module>` [tokens, in_features], `tokens`, optional `logits`) and checks its shapes. */
export async function readActivationDump(file: string): Promise<ActivationDump> {
  const header = await readSafetensorsHeader(file);
  const tokenEntry = header.entries.find((e) => e.name === 'tokens');
  if (!tokenEntry || tokenEntry.dtype !== 'I64' || tokenEntry.shape.length !== 1) {
    throw new BadFileError(file, 'is not an activation dump: no 1-D I64 "tokens" tensor');
  }
  const buf = Buffer.alloc(tokenEntry.end - tokenEntry.begin);
  const fh = await open(file, 'r');
  try {
    await fh.read(buf, 0, buf.length, header.dataStart + tokenEntry.begin);
  } finally {
    await fh.close();
  }
  const tokens = Array.from({ length: tokenEntry.shape[0] }, (_, i) => Number(buf.readBigInt64LE(8 * i)));
  const inputs = new Map<string, Tensor>();
  let logits: Tensor | undefined;
  for (const e of header.entries) {
    const isInput = e.name.startsWith(INPUT_PREFIX);
    if (!isInput && e.name !== 'logits') continue;
    if (e.shape.length !== 2 || e.shape[0] !== tokens.length) {
      throw new BadFileError(file, `"${e.name}" has shape [${e.shape.join(', ')}], not [${tokens.length} tokens, features]`);
    }
    const t = { data: await readTensorF32({ file, name: e.name }), shape: e.shape };
    if (isInput) inputs.set(e.name.slice(INPUT_PREFIX.length), t);
    else logits = t;
  }
  if (inputs.size === 0) throw new BadFileError(file, 'is not an activation dump: no input.<module> tensors');
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(header.metadata ?? {})) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return { tokens, inputs, ...(logits ? { logits } : {}), metadata };
}
