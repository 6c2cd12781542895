import { BadFileError } from '../errors.js';

/** Throws USAGE for the first token id that is not a row of an embedding of `vocab` rows. */
export function checkTokenIds(tokens: number[], vocab: number): void {
  for (const id of tokens) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new BadFileError('tokens', `token id ${id} is outside the vocabulary (0…${vocab - 1})`, 'USAGE');
    }
  }
}
