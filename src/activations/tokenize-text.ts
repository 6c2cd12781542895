import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Tokenizer } from '@huggingface/tokenizers';

import { BadFileError, UsageError } from '../errors.js';

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new BadFileError(file, `not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Token ids of a text through the model folder's own tokenizer.json (and tokenizer_config.json,
 * which says whether a BOS token is added), as transformers' tokenizer would produce them.
 */
export async function tokenizeText(dir: string, text: string): Promise<number[]> {
  const tokenizerJson = await readJson(join(dir, 'tokenizer.json'));
  if (!tokenizerJson) throw new UsageError(`${dir} has no tokenizer.json: give token ids with --tokens instead of --text`);
  const tokenizerConfig = (await readJson(join(dir, 'tokenizer_config.json'))) ?? {};
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  return tokenizer.encode(text).ids;
}
