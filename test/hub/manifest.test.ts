import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { REPO_ROOT, tempDir } from '../helpers.js';
import {
  architectureForConfig,
  checkExpectations,
  defaultManifestDir,
  findManifest,
  loadManifests,
  manifestJsonSchema,
  MANIFEST_SCHEMA_FILE,
  parseManifest,
  selectLinearTensors,
  type Manifest,
} from '../../src/hub/index.js';
import { manifestArchitecture } from '../../src/hub/manifest.js';

/** Shapes (as stored) of one block's linear layers, derived from the manifest's config sizes. */
function shapesFromConfig(m: Manifest): Record<string, number[]> {
  const c = m.config!;
  const h = c.hidden_size;
  const i = c.intermediate_size;
  if (m.architecture === 'gpt2') {
    return { 'attn.c_attn': [h, 3 * h], 'attn.c_proj': [h, h], 'mlp.c_fc': [h, i], 'mlp.c_proj': [i, h] };
  }
  const kv = ((c.num_key_value_heads ?? c.num_attention_heads) * h) / c.num_attention_heads;
  return {
    'self_attn.q_proj': [h, h],
    'self_attn.k_proj': [kv, h],
    'self_attn.v_proj': [kv, h],
    'self_attn.o_proj': [h, h],
    'mlp.gate_proj': [i, h],
    'mlp.up_proj': [i, h],
    'mlp.down_proj': [h, i],
  };
}

describe('weights-manifest', () => {
  test('every shipped manifest validates, and its expected shapes follow from its config sizes', () => {
    const loaded = loadManifests();
    assert.deepEqual(
      loaded.map((l) => l.manifest.repo),
      ['meta-llama/Llama-2-7b-hf', 'meta-llama/Meta-Llama-3-8B', 'mistralai/Mistral-7B-v0.1', 'neuralmagic/Sparse-Llama-3.1-8B-2of4', 'openai-community/gpt2'],
    );
    for (const { manifest: m, file } of loaded) {
      const shapes = shapesFromConfig(m);
      assert.deepEqual(
        Object.fromEntries(m.expect!.map((e) => [e.module, e.shape])),
        shapes,
        file,
      );
      for (const e of m.expect!) assert.equal(e.count, m.config!.num_hidden_layers, file);
      // A sha is pinned only where it is 40 hex digits; otherwise the notes must say it is not pinned.
      if (!/^[0-9a-f]{40}$/.test(m.revision)) assert.match(m.notes ?? '', /not pinned/, file);
      // The manifest's rules select exactly its expected tensors from a synthetic header of that shape.
      const header: Record<string, { dtype: string; shape: number[] }> = {};
      const prefix = m.architecture === 'gpt2' ? 'h' : 'model.layers';
      for (let l = 0; l < m.config!.num_hidden_layers; l++) {
        for (const e of m.expect!) header[`${prefix}.${l}.${e.module}.weight`] = { dtype: 'BF16', shape: e.shape };
      }
      header[m.architecture === 'gpt2' ? 'wte.weight' : 'model.embed_tokens.weight'] = { dtype: 'BF16', shape: [100, m.config!.hidden_size] };
      const sel = selectLinearTensors({ 'model.safetensors': header }, manifestArchitecture(m));
      assert.equal(sel.tensors.length, m.expect!.length * m.config!.num_hidden_layers, file);
      assert.equal(sel.otherTensors, 1, file);
      assert.deepEqual(checkExpectations(sel.tensors, m.expect!), [], file);
      assert.ok(sel.tensors.every((t) => t.orientation === (m.architecture === 'gpt2' ? 'raw' : 'linear')), file);
    }
  });

  test('the schema file beside the manifests is the one the code validates with', () => {
    const onDisk = JSON.parse(readFileSync(join(REPO_ROOT, 'weights-manifest', MANIFEST_SCHEMA_FILE), 'utf8')) as unknown;
    assert.deepEqual(onDisk, manifestJsonSchema());
    assert.equal(defaultManifestDir(), join(REPO_ROOT, 'weights-manifest'));
  });

  test('lookup is by repo id, case-insensitive, as on the hub', () => {
    assert.equal(findManifest('OpenAI-Community/GPT2')?.manifest.architecture, 'gpt2');
    assert.equal(findManifest('someone/unknown-model'), undefined);
  });

  test('a bad manifest names the file and the field', () => {
    assert.throws(() => parseManifest('{"repo":"a/b","revision":"main","architecture":"llama","expect":[{"module":"q","shape":[1],"count":1}]}', 'x.json'), /x\.json: invalid manifest: expect\.0\.shape/);
    assert.throws(() => parseManifest('{"repo":"a/b","revision":"main","architecture":"nope"}', 'y.json'), /y\.json: invalid manifest: architecture: unknown architecture/);
    assert.throws(() => parseManifest('{"repo":"a/b","revision":"main","architecture":"custom","linear":[{"pattern":"(["}]}', 'z.json'), /z\.json: invalid manifest: linear pattern/);
    assert.throws(() => parseManifest('{"repo":"a/b","revision":"main","architecture":"llama","extra":1}', 'w.json'), /w\.json: invalid manifest/);
    assert.throws(() => parseManifest('{', 'v.json'), /v\.json: not valid JSON/);
  });

  test('two manifests for one repo are refused', () => {
    const { dir, cleanup } = tempDir();
    try {
      const m = '{"repo":"a/b","revision":"main","architecture":"llama"}';
      writeFileSync(join(dir, '1.json'), m);
      writeFileSync(join(dir, '2.json'), m);
      assert.throws(() => loadManifests(dir), /2\.json: manifest for a\/b also given by .*1\.json/);
    } finally {
      cleanup();
    }
  });

  test('a custom manifest rule with its own orientation and labels', () => {
    const m = parseManifest(
      JSON.stringify({
        repo: 'lab/custom',
        revision: 'main',
        architecture: 'custom',
        orientation: 'linear',
        linear: [{ pattern: '^blocks\\.(?<layer>\\d+)\\.(?<module>proj_in|proj_out)$' }, { pattern: '^blocks\\.(?<layer>\\d+)\\.conv$', orientation: 'raw' }],
        labels: { pruner: 'wanda' },
      }),
      'custom.json',
    );
    const sel = selectLinearTensors(
      { 'model.safetensors': { 'blocks.3.proj_in': { dtype: 'F16', shape: [4, 8] }, 'blocks.3.conv': { dtype: 'F32', shape: [8, 4] }, 'blocks.3.norm': { dtype: 'F32', shape: [8] } } },
      manifestArchitecture(m),
    );
    assert.deepEqual(
      sel.tensors.map((t) => [t.name, t.orientation, t.labels]),
      [
        ['blocks.3.conv', 'raw', { layer: '3' }],
        ['blocks.3.proj_in', 'linear', { layer: '3', module: 'proj_in' }],
      ],
    );
  });
});

describe('built-in architecture rules', () => {
  const cases: Array<[Record<string, unknown>, string | undefined]> = [
    [{ model_type: 'llama' }, 'llama'],
    [{ model_type: 'mistral' }, 'llama'],
    [{ model_type: 'qwen2' }, 'llama'],
    [{ model_type: 'gpt2' }, 'gpt2'],
    [{ model_type: 'opt' }, 'opt'],
    [{ model_type: 'bert' }, 'bert'],
    [{ architectures: ['OPTForCausalLM'] }, 'opt'],
    [{ model_type: 'mamba' }, undefined],
  ];
  for (const [config, id] of cases) {
    test(`${JSON.stringify(config)} → ${id ?? 'none'}`, () => assert.equal(architectureForConfig(config)?.id, id));
  }

  test('each rule picks the linear weights of its architecture and nothing else', () => {
    const pick = (type: string, names: string[]) => {
      const arch = architectureForConfig({ model_type: type })!;
      const header = Object.fromEntries(names.map((n) => [n, { dtype: 'F32', shape: [4, 4] }]));
      return selectLinearTensors({ f: header }, arch).tensors.map((t) => [t.name, t.labels['module'], t.orientation]);
    };
    assert.deepEqual(
      pick('gpt2', ['h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias', 'transformer.h.1.mlp.c_proj.weight', 'wte.weight', 'h.0.ln_1.weight']),
      [
        ['h.0.attn.c_attn.weight', 'attn.c_attn', 'raw'],
        ['transformer.h.1.mlp.c_proj.weight', 'mlp.c_proj', 'raw'],
      ],
    );
    assert.deepEqual(
      pick('opt', ['model.decoder.layers.3.self_attn.out_proj.weight', 'model.decoder.layers.3.fc1.weight', 'model.decoder.embed_tokens.weight', 'model.decoder.layers.3.self_attn_layer_norm.weight']),
      [
        ['model.decoder.layers.3.fc1.weight', 'fc1', 'linear'],
        ['model.decoder.layers.3.self_attn.out_proj.weight', 'self_attn.out_proj', 'linear'],
      ],
    );
    assert.deepEqual(
      pick('bert', [
        'bert.encoder.layer.0.attention.self.query.weight',
        'bert.encoder.layer.0.attention.output.dense.weight',
        'bert.encoder.layer.0.intermediate.dense.weight',
        'bert.encoder.layer.0.output.dense.weight',
        'bert.encoder.layer.0.output.LayerNorm.weight',
        'bert.pooler.dense.weight',
        'cls.predictions.transform.dense.weight',
      ]),
      [
        ['bert.encoder.layer.0.attention.output.dense.weight', 'attention.output.dense', 'linear'],
        ['bert.encoder.layer.0.attention.self.query.weight', 'attention.self.query', 'linear'],
        ['bert.encoder.layer.0.intermediate.dense.weight', 'intermediate.dense', 'linear'],
        ['bert.encoder.layer.0.output.dense.weight', 'output.dense', 'linear'],
      ],
    );
  });

  test('a matched tensor that is not a 2-D float is reported, not benchmarked', () => {
    const arch = architectureForConfig({ model_type: 'llama' })!;
    const sel = selectLinearTensors(
      { f: { 'model.layers.0.self_attn.q_proj.weight': { dtype: 'I8', shape: [4, 4] }, 'model.layers.0.mlp.up_proj.weight': { dtype: 'F32', shape: [4, 4, 1] } } },
      arch,
    );
    assert.equal(sel.tensors.length, 0);
    assert.deepEqual(
      sel.skipped.map((s) => s.reason),
      ['dtype I8 is not a float type (quantized?)', 'not 2-D (shape [4, 4, 1])'],
    );
  });
});
