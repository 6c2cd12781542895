import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { parse } from 'csv-parse/sync';

import { runCommand } from '../../src/commands/run.js';
import { tempDir } from '../helpers.js';
import { cpuRunFlags } from '../pipeline/fixtures.js';
import { TINY_GPT2_CONFIG, TINY_GPT2_TENSORS, writeSafetensors } from './safetensors-fixture.js';

test('`run` over an HF-layout folder applies the architecture: GPT-2 Conv1D runs raw, other tensors as asked', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = join(dir, 'tiny-gpt2');
    mkdirSync(model);
    writeFileSync(join(model, 'config.json'), JSON.stringify(TINY_GPT2_CONFIG));
    writeSafetensors(join(model, 'model.safetensors'), TINY_GPT2_TENSORS);
    const out = join(dir, 'r.csv');
    const summary = await runCommand(model, cpuRunFlags(out, join(dir, 'cache'), { m: '4', runs: '1' }));
    assert.equal(summary.failed, 0);
    const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
    const byTensor = new Map(rows.filter((r) => r['kernel'] === 'esmm').map((r) => [r['tensor'], r]));
    // Six 2-D tensors: the four Conv1D weights and the two embeddings.
    assert.equal(byTensor.size, 6);
    for (const name of ['h.0.attn.c_attn.weight', 'h.0.attn.c_proj.weight', 'h.0.mlp.c_fc.weight', 'h.0.mlp.c_proj.weight']) {
      const r = byTensor.get(name)!;
      const shape = TINY_GPT2_TENSORS.find((t) => t.name === name)!.shape;
      assert.equal(r['orientation'], 'raw', name);
      assert.deepEqual([Number(r['k']), Number(r['n'])], shape, name);
      const labels = JSON.parse(r['labels_json']) as Record<string, string>;
      assert.equal(labels['arch'], 'gpt2');
      assert.equal(labels['layer'], '0');
    }
    const wte = byTensor.get('wte.weight')!;
    assert.equal(wte['orientation'], 'linear');
    assert.deepEqual([Number(wte['k']), Number(wte['n'])], [8, 50]);
  } finally {
    cleanup();
  }
});
