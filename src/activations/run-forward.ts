import { gpt2ForwardDevice } from './gpt2-forward-device.js';
import { gpt2Forward } from './gpt2-forward.js';
import { llamaForwardDevice } from './llama-forward-device.js';
import { llamaForward } from './llama-forward.js';
import type { ForwardParams } from './types.js';

/** The checkpoint's forward pass for its family, on p.device when given; returns the logits [tokens, vocab]. */
export function runForward(p: ForwardParams): Promise<Float32Array> {
  const { device } = p;
  if (device) {
    return p.config.family === 'gpt2' ? gpt2ForwardDevice({ ...p, config: p.config, device }) : llamaForwardDevice({ ...p, config: p.config, device });
  }
  return p.config.family === 'gpt2' ? gpt2Forward({ ...p, config: p.config }) : llamaForward({ ...p, config: p.config });
}
