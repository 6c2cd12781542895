import { gpt2Forward } from './gpt2-forward.js';
import { llamaForward } from './llama-forward.js';
import type { ForwardParams } from './types.js';

/** The checkpoint's forward pass for its family; returns the logits [tokens, vocab]. */
export function runForward(p: ForwardParams): Promise<Float32Array> {
  return p.config.family === 'gpt2' ? gpt2Forward({ ...p, config: p.config }) : llamaForward({ ...p, config: p.config });
}
