import type { Orientation } from '../weights/types.js';

/** One regex on tensor names; named groups `layer` and `module` become labels. */
export interface LinearRule {
  pattern: string;
  /** Overrides the architecture's default orientation for the tensors it matches. */
  orientation?: Orientation;
}

/** Which tensors of a checkpoint are linear layers, and how their weights are stored. */
export interface Architecture {
  id: string;
  /** config.json `model_type` values this rule applies to. */
  modelTypes: string[];
  /** config.json `architectures` entries (class names) this rule applies to. */
  architectures: string[];
  /** How the weights are stored: 'linear' for nn.Linear ([out, in]), 'raw' for Conv1D ([in, out]). */
  orientation: Orientation;
  linear: LinearRule[];
}

/** Built-in rules, used when no manifest names the checkpoint. */
export const BUILTIN_ARCHITECTURES: readonly Architecture[] = [
  {
    id: 'llama',
    modelTypes: ['llama', 'mistral', 'qwen2', 'qwen3'],
    architectures: ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM'],
    orientation: 'linear',
    linear: [
      { pattern: String.raw`^(?:model\.)?layers\.(?<layer>\d+)\.(?<module>self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)\.weight$` },
    ],
  },
  {
    // GPT-2 uses transformers' Conv1D, whose weight is stored [in, out]: already K×N.
    id: 'gpt2',
    modelTypes: ['gpt2'],
    architectures: ['GPT2LMHeadModel', 'GPT2Model'],
    orientation: 'raw',
    linear: [
      { pattern: String.raw`^(?:transformer\.)?h\.(?<layer>\d+)\.(?<module>attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$` },
    ],
  },
  {
    id: 'opt',
    modelTypes: ['opt'],
    architectures: ['OPTForCausalLM', 'OPTModel'],
    orientation: 'linear',
    linear: [
      { pattern: String.raw`^(?:model\.)?decoder\.layers\.(?<layer>\d+)\.(?<module>self_attn\.(?:q|k|v|out)_proj|fc1|fc2)\.weight$` },
    ],
  },
  {
    id: 'bert',
    modelTypes: ['bert'],
    architectures: ['BertModel', 'BertForMaskedLM', 'BertForPreTraining', 'BertForSequenceClassification'],
    orientation: 'linear',
    linear: [
      {
        pattern: String.raw`^(?:bert\.)?encoder\.layer\.(?<layer>\d+)\.(?<module>attention\.self\.(?:query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)\.weight$`,
      },
    ],
  },
];

/** The subset of config.json that picks an architecture. */
export interface ModelConfigJson {
  model_type?: unknown;
  architectures?: unknown;
  [key: string]: unknown;
}

/** The built-in rule for a config.json: by `model_type` first, then by `architectures`. */
export function architectureForConfig(config: ModelConfigJson): Architecture | undefined {
  const modelType = typeof config.model_type === 'string' ? config.model_type : undefined;
  if (modelType !== undefined) {
    const byType = BUILTIN_ARCHITECTURES.find((a) => a.modelTypes.includes(modelType));
    if (byType) return byType;
  }
  const classes = Array.isArray(config.architectures) ? config.architectures.filter((c): c is string => typeof c === 'string') : [];
  return BUILTIN_ARCHITECTURES.find((a) => a.architectures.some((c) => classes.includes(c)));
}

export function architectureById(id: string): Architecture | undefined {
  return BUILTIN_ARCHITECTURES.find((a) => a.id === id);
}
