import { writeFileSync } from 'node:fs';

export interface FixtureTensor {
  name: string;
  shape: number[];
}

/** A float32 safetensors file whose element i of every tensor is (i % 7) - 3 (so some zeros). */
export function safetensorsBytes(tensors: FixtureTensor[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const datas: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = (i % 7) - 3;
    const buf = Buffer.from(f.buffer);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + buf.length] };
    datas.push(buf);
    offset += buf.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json, 'utf8'), ...datas]);
}

export function writeSafetensors(file: string, tensors: FixtureTensor[]): void {
  writeFileSync(file, safetensorsBytes(tensors));
}

/** A one-block GPT-2 (n_embd 8) as transformers saves it: Conv1D weights stored [in, out]. */
export const TINY_GPT2_TENSORS: FixtureTensor[] = [
  { name: 'wte.weight', shape: [50, 8] },
  { name: 'wpe.weight', shape: [16, 8] },
  { name: 'h.0.ln_1.weight', shape: [8] },
  { name: 'h.0.attn.c_attn.weight', shape: [8, 24] },
  { name: 'h.0.attn.c_attn.bias', shape: [24] },
  { name: 'h.0.attn.c_proj.weight', shape: [8, 8] },
  { name: 'h.0.mlp.c_fc.weight', shape: [8, 32] },
  { name: 'h.0.mlp.c_proj.weight', shape: [32, 8] },
  { name: 'ln_f.weight', shape: [8] },
];

export const TINY_GPT2_CONFIG = {
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  n_embd: 8,
  n_head: 2,
  n_layer: 1,
  n_positions: 16,
  vocab_size: 50,
};
