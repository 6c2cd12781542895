import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

import { readActivationDump } from '../../src/activations/read-activation-dump.js';
import { relativeError } from '../../src/activations/relative-error.js';
import { captureCommand } from '../../src/commands/capture.js';
import { REPO_ROOT, SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { writeTinyGpt2, type TinyGpt2 } from './fixtures.js';

const SHARED_ACTIVATIONS = resolve(REPO_ROOT, '..', 'shared', 'activations');
const ORACLE_DIR = join(SHARED_ACTIVATIONS, 'tinystories-656k');

interface ExpectedModule {
  shape: number[];
  sum: number;
  abs_sum: number;
  zeros: number;
  first4: number[];
}
interface Expected {
  file: string;
  tokens: number[];
  modules: Record<string, ExpectedModule>;
  logits: { shape: number[]; argmax: number[] };
  sha256: string;
}

describe('capture: the tinystories-656k forward pass against transformers', () => {
  const expected = JSON.parse(readFileSync(join(ORACLE_DIR, 'expected.json'), 'utf8')) as Expected;

  it('the oracle file is the one expected.json describes', () => {
    const sha = createHash('sha256').update(readFileSync(join(ORACLE_DIR, expected.file))).digest('hex');
    assert.equal(sha, expected.sha256);
  });

  it('reproduces every input.<module> to 1e-5 and the logits top-1 on every token', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'dump.safetensors');
      const lines: string[] = [];
      await captureCommand(join(SHARED_WEIGHTS, 'tinystories-656k'), { tokens: expected.tokens.join(','), out, json: true }, (l) => lines.push(l));
      const printed = JSON.parse(lines[0]) as { top1: number[]; modules: Array<{ module: string }> };
      assert.deepEqual(printed.top1, expected.logits.argmax);

      const mine = await readActivationDump(out);
      const oracle = await readActivationDump(join(ORACLE_DIR, expected.file));
      assert.deepEqual(mine.tokens, expected.tokens);
      assert.deepEqual([...mine.inputs.keys()].sort(), Object.keys(expected.modules).sort());
      for (const [module, e] of Object.entries(expected.modules)) {
        const got = mine.inputs.get(module)!;
        assert.deepEqual(got.shape, e.shape, module);
        const err = relativeError(got.data, oracle.inputs.get(module)!.data);
        assert.ok(err <= 1e-5, `${module}: relative error ${err}`);
        let sum = 0;
        let abs = 0;
        let zeros = 0;
        for (const v of got.data) {
          sum += v;
          abs += Math.abs(v);
          if (v === 0) zeros++;
        }
        assert.ok(Math.abs(sum - e.sum) <= 1e-5 * e.abs_sum, `${module}: sum ${sum} vs ${e.sum}`);
        assert.ok(Math.abs(abs - e.abs_sum) <= 1e-5 * e.abs_sum, `${module}: abs sum ${abs} vs ${e.abs_sum}`);
        assert.equal(zeros, e.zeros, `${module}: zeros`);
        e.first4.forEach((v, i) => assert.ok(Math.abs(got.data[i] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${module}: first4[${i}]`));
      }
      assert.deepEqual(mine.logits!.shape, expected.logits.shape);
      assert.equal(mine.metadata.model, 'tinystories-656k');
      assert.equal(mine.metadata.sparsifier, 'dense');
      assert.deepEqual(JSON.parse(mine.metadata.tokens), expected.tokens);
    } finally {
      cleanup();
    }
  });
});

/** GPT-2 written out the plain way: nested loops over W[in][out], no shared code with the tool. */
function referenceGpt2(m: TinyGpt2, tokens: number[]): { inputs: Map<string, number[][]>; logits: number[][] } {
  const w = (n: string): Float32Array => m.weights.get(n)!.data;
  const c = m.config.n_embd;
  const heads = m.config.n_head;
  const d = c / heads;
  const inputs = new Map<string, number[][]>();
  const conv = (module: string, name: string, x: number[][]): number[][] => {
    inputs.set(module, x.map((r) => [...r]));
    const [kin, nout] = m.weights.get(`${name}.weight`)!.shape;
    const W = w(`${name}.weight`);
    const b = w(`${name}.bias`);
    return x.map((row) => Array.from({ length: nout }, (_, j) => row.reduce((s, v, i) => s + v * W[i * nout + j], 0) + b[j]));
  };
  const ln = (x: number[][], name: string): number[][] =>
    x.map((row) => {
      const mean = row.reduce((a, b) => a + b, 0) / row.length;
      const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
      return row.map((r, i) => ((r - mean) / Math.sqrt(v + 1e-5)) * w(`${name}.weight`)[i] + w(`${name}.bias`)[i]);
    });
  let x = tokens.map((t, p) => Array.from({ length: c }, (_, i) => w('wte.weight')[t * c + i] + w('wpe.weight')[p * c + i]));
  for (let l = 0; l < m.config.n_layer; l++) {
    const qkv = conv(`transformer.h.${l}.attn.c_attn`, `h.${l}.attn.c_attn`, ln(x, `h.${l}.ln_1`));
    const attn = tokens.map((_, i) => {
      const out: number[] = [];
      for (let h = 0; h < heads; h++) {
        const q = qkv[i].slice(h * d, h * d + d);
        const s = tokens.slice(0, i + 1).map((__, j) => q.reduce((a, qv, e) => a + qv * qkv[j][c + h * d + e], 0) / Math.sqrt(d));
        const mx = Math.max(...s);
        const p = s.map((v) => Math.exp(v - mx));
        const z = p.reduce((a, b) => a + b, 0);
        for (let e = 0; e < d; e++) out.push(p.reduce((a, pv, j) => a + (pv / z) * qkv[j][2 * c + h * d + e], 0));
      }
      return out;
    });
    const o = conv(`transformer.h.${l}.attn.c_proj`, `h.${l}.attn.c_proj`, attn);
    x = x.map((r, i) => r.map((v, j) => v + o[i][j]));
    const gelu = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    const f = conv(`transformer.h.${l}.mlp.c_fc`, `h.${l}.mlp.c_fc`, ln(x, `h.${l}.ln_2`)).map((r) => r.map(gelu));
    const mo = conv(`transformer.h.${l}.mlp.c_proj`, `h.${l}.mlp.c_proj`, f);
    x = x.map((r, i) => r.map((v, j) => v + mo[i][j]));
  }
  const final = ln(x, 'ln_f');
  inputs.set('lm_head', final);
  const wte = w('wte.weight');
  const logits = final.map((row) => Array.from({ length: m.config.vocab_size }, (_, v) => row.reduce((s, xv, i) => s + xv * wte[v * c + i], 0)));
  return { inputs, logits };
}

describe('capture: GPT-2 (Conv1D weights stored [in, out])', () => {
  it('matches a plain reference implementation module by module', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = await writeTinyGpt2(dir);
      const tokens = [3, 17, 42, 0, 9, 9, 31];
      const out = join(dir, 'dump.safetensors');
      await captureCommand(dir, { tokens: tokens.join(','), out }, () => {});
      const dump = await readActivationDump(out);
      const ref = referenceGpt2(model, tokens);
      assert.deepEqual([...dump.inputs.keys()].sort(), [...ref.inputs.keys()].sort());
      assert.deepEqual(dump.inputs.get('transformer.h.0.mlp.c_proj')!.shape, [tokens.length, 32], 'c_proj reads 4·n_embd features');
      for (const [module, want] of ref.inputs) {
        const err = relativeError(dump.inputs.get(module)!.data, Float32Array.from(want.flat()));
        assert.ok(err <= 1e-5, `${module}: relative error ${err}`);
      }
      assert.ok(relativeError(dump.logits!.data, Float32Array.from(ref.logits.flat())) <= 1e-5);
    } finally {
      cleanup();
    }
  });
});

describe('capture: input checks', () => {
  it('tokenises --text with the folder tokenizer.json', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await writeTinyGpt2(dir);
      const vocab = { '<unk>': 0, once: 1, upon: 2, a: 3, time: 4 };
      writeFileSync(
        join(dir, 'tokenizer.json'),
        JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab, unk_token: '<unk>' } }),
      );
      writeFileSync(join(dir, 'text.txt'), 'once upon a time');
      const lines: string[] = [];
      await captureCommand(dir, { text: join(dir, 'text.txt'), out: join(dir, 'd.safetensors'), json: true }, (l) => lines.push(l));
      assert.deepEqual((JSON.parse(lines[0]) as { tokens: number[] }).tokens, [1, 2, 3, 4]);
    } finally {
      cleanup();
    }
  });

  it('takes org/name from the Hugging Face cache, labelled with the commit', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const commit = 'a'.repeat(40);
      const repo = join(dir, 'models--org--tiny-gpt2');
      mkdirSync(join(repo, 'refs'), { recursive: true });
      mkdirSync(join(repo, 'snapshots', commit), { recursive: true });
      writeFileSync(join(repo, 'refs', 'main'), commit);
      await writeTinyGpt2(join(repo, 'snapshots', commit));
      const out = join(dir, 'd.safetensors');
      await captureCommand('org/tiny-gpt2', { tokens: '1,2', out, hfCache: dir, offline: true }, () => {});
      const dump = await readActivationDump(out);
      assert.equal(dump.metadata.model, 'org/tiny-gpt2');
      assert.equal(dump.metadata.revision, commit);
      await assert.rejects(captureCommand('org/absent', { tokens: '1', hfCache: dir, offline: true }, () => {}), /org\/absent is not in the Hugging Face cache/);
    } finally {
      cleanup();
    }
  });

  it('refuses ids outside the vocabulary, an unsupported model type, and --text without a tokenizer', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await writeTinyGpt2(dir);
      await assert.rejects(captureCommand(dir, { tokens: '1,50', out: join(dir, 'd.safetensors') }, () => {}), /token id 50 is outside the vocabulary/);
      writeFileSync(join(dir, 't.txt'), 'hi');
      await assert.rejects(captureCommand(dir, { text: join(dir, 't.txt') }, () => {}), /no tokenizer\.json/);
      await assert.rejects(captureCommand(dir, {}, () => {}), /exactly one of --tokens and --text/);
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 't5' }));
      await assert.rejects(captureCommand(dir, { tokens: '1' }, () => {}), /config\.json: model_type "t5" has no forward pass/);
    } finally {
      cleanup();
    }
  });
});
