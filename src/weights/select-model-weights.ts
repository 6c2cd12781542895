/** Top-level keys under which training checkpoints keep optimizer and scheduler state. */
const TRAINING_STATE_KEYS = new Set([
  'optimizer',
  'optimizers',
  'optimizer_states',
  'optimizer_state_dict',
  'optim',
  'opt',
  'scheduler',
  'lr_scheduler',
  'lr_schedulers',
]);

/** Top-level keys that hold the model's weights in a training checkpoint. */
const MODEL_KEYS = new Set(['model', 'state_dict', 'model_state_dict']);

/** Per-parameter state of the torch.optim optimizers (Adam, AdamW, SGD, RMSprop, Adagrad, Adadelta, …). */
const OPTIMIZER_LEAVES = new Set([
  'exp_avg',
  'exp_avg_sq',
  'max_exp_avg_sq',
  'momentum_buffer',
  'square_avg',
  'grad_avg',
  'acc_delta',
  'sum',
  'exp_inf',
  'ax',
  'mu',
  'eta',
  'prev',
  'step_size',
  'step',
]);

function isOptimizerLeaf(parts: string[]): boolean {
  // `state.<param index>.<leaf>`, as an optimizer's state_dict lays it out.
  const n = parts.length;
  return n >= 3 && OPTIMIZER_LEAVES.has(parts[n - 1]) && /^\d+$/.test(parts[n - 2]) && parts[n - 3] === 'state';
}

/**
 * Which tensors of a torch checkpoint are the model's weights. A training checkpoint (model /
 * state_dict / model_state_dict beside optimizer state, as llama2.c and Lightning write them)
 * yields only what is under its model key; optimizer state (exp_avg, momentum_buffer, … under
 * optimizer or optimizer_states, or a saved optimizer state_dict) is never a weight.
 */
export function selectModelWeights(names: string[]): { keep: (name: string) => boolean; dropped: number } {
  const top = (name: string): string => name.split('.')[0];
  const training = names.some((n) => TRAINING_STATE_KEYS.has(top(n)));
  const hasModel = names.some((n) => MODEL_KEYS.has(top(n)));
  const keep = (name: string): boolean => {
    if (name === '') return true;
    if (TRAINING_STATE_KEYS.has(top(name)) || isOptimizerLeaf(name.split('.'))) return false;
    return !(training && hasModel) || MODEL_KEYS.has(top(name));
  };
  return { keep, dropped: names.filter((n) => !keep(n)).length };
}
