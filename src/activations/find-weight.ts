import { BadFileError } from '../errors.js';
import type { Checkpoint, Tensor } from './types.js';

/**
 * A weight by its transformers name, or by that name less `prefix` (`model.`, `transformer.`),
 * which some checkpoints drop; undefined when the checkpoint holds neither.
 */
export function findWeight(weights: Checkpoint, name: string, prefix: string): Tensor | undefined {
  return weights.get(name) ?? (name.startsWith(prefix) ? weights.get(name.slice(prefix.length)) : undefined);
}

/** The first of the names the checkpoint holds (as findWeight finds them); NOT_FOUND, naming the first, when none. */
export function needWeight(weights: Checkpoint, prefix: string, name: string, ...fallbacks: string[]): Tensor {
  for (const n of [name, ...fallbacks]) {
    const t = findWeight(weights, n, prefix);
    if (t) return t;
  }
  throw new BadFileError(name, 'the checkpoint holds no such tensor', 'NOT_FOUND');
}
