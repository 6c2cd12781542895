import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { loadLabelRules, parseLabels, walkWeights } from '../../src/weights/index.js';
import { researchAncestors } from '../../src/weights/parse-labels.js';
import { SHARED_WEIGHTS, tempDir } from '../helpers.js';

const tmp = tempDir('esmm-weights-labels-');
after(() => tmp.cleanup());

describe('parseLabels', () => {
  it('parses the research layout', () => {
    assert.deepEqual(parseLabels('wanda/grp_16/col_perm/sparsity_0.5/model.layers.0.mlp.up_proj_permuted.pt'), {
      pruner: 'wanda',
      group: '16',
      perm: 'col',
      sparsity: '0.5',
      layer: 'model.layers.0.mlp.up_proj',
    });
    assert.deepEqual(parseLabels('sparsegpt/grp_8/rows_permuted/sparsity_0.9/q_proj_permuted.pt'), {
      pruner: 'sparsegpt',
      group: '8',
      perm: 'row',
      sparsity: '0.9',
      layer: 'q_proj',
    });
    assert.equal(parseLabels('x/grp_8/columns_permuted/a.pt').perm, 'col');
    assert.equal(parseLabels('grp_128/a.pt').group, '128');
  });

  it('takes any pruner name from the directory above the research directories', () => {
    assert.deepEqual(parseLabels('pruned-tree/magnitude/grp_8/row_perm/sparsity_0.9/k_proj_permuted.pt'), {
      pruner: 'magnitude',
      group: '8',
      perm: 'row',
      sparsity: '0.9',
      layer: 'k_proj',
    });
  });

  it('parses key=value and key_value directory names, and nothing from plain names', () => {
    assert.deepEqual(parseLabels('model=llama-7b/method_wanda/seed=3/weights.safetensors'), {
      model: 'llama-7b',
      method: 'wanda',
      seed: '3',
    });
    assert.deepEqual(parseLabels('tinystories-656k/model.safetensors'), {});
    assert.deepEqual(parseLabels('model.safetensors'), {});
  });

  it('applies user rules last: named groups, label/value templates, first capture group', () => {
    const rules = [
      { regex: /layers\.(?<block>\d+)\./ },
      { regex: /(\w+)_proj/, label: 'proj' },
      { regex: /sparsity_([\d.]+)/, label: 'density_note', value: 'from $1' },
      { regex: /grp_(?<g>\d+)/, label: 'group', value: 'g$<g>' },
    ];
    assert.deepEqual(parseLabels('wanda/grp_8/col_perm/sparsity_0.5/model.layers.3.mlp.up_proj_permuted.pt', rules), {
      pruner: 'wanda',
      group: 'g8',
      g: '8',
      perm: 'col',
      sparsity: '0.5',
      layer: 'model.layers.3.mlp.up_proj',
      block: '3',
      proj: 'up',
      density_note: 'from 0.5',
    });
  });
});

describe('loadLabelRules', () => {
  it('loads a rules file (object or bare array form)', async () => {
    const file = join(tmp.dir, 'rules.json');
    writeFileSync(file, JSON.stringify({ rules: [{ regex: 'RUN(\\d+)', flags: 'i', label: 'run' }, { regex: '(?<arch>llama|gpt)' }] }));
    const rules = await loadLabelRules(file);
    assert.equal(rules.length, 2);
    assert.deepEqual(parseLabels('run42/llama/x.pt', rules), { run: '42', arch: 'llama' });
    writeFileSync(file, JSON.stringify([{ regex: 'x', label: 'k', value: 'v' }]));
    assert.deepEqual(parseLabels('x.pt', await loadLabelRules(file)), { k: 'v' });
  });

  for (const [what, content, why] of [
    ['bad JSON', '{', /label rules are not valid JSON/],
    ['wrong shape', '{"rules": [{"pattern": "x"}]}', /label rules invalid at rules\.0/],
    ['bad regex', '[{"regex": "(", "label": "a"}]', /rule 0: bad regex/],
    ['no label or groups', '[{"regex": "a"}]', /rule 0: needs a "label" or named groups/],
    ['value without label', '[{"regex": "(?<a>x)", "value": "v"}]', /"value" needs a "label"/],
  ] as const) {
    it(`refuses ${what} with an error naming the file`, async () => {
      const file = join(tmp.dir, `bad-${what.replace(/ /g, '-')}.json`);
      writeFileSync(file, content);
      await assert.rejects(loadLabelRules(file), (err: Error) => {
        assert.ok(err.message.startsWith(`${file}: `), err.message);
        assert.match(err.message, why);
        return true;
      });
    });
  }

  it('a missing file is a clear error', async () => {
    await assert.rejects(loadLabelRules(join(tmp.dir, 'none.json')), /cannot read label rules \(ENOENT\)/);
  });
});

describe('walk labels', () => {
  it('a root inside the research layout keeps the labels its own path states', async () => {
    const walk = await walkWeights({ root: join(SHARED_WEIGHTS, 'pruned-tree', 'magnitude', 'grp_8') });
    const t = walk.tensors.find((x) => x.file.endsWith('col_perm/sparsity_0.5/model.layers.1.self_attn.v_proj_permuted.pt'));
    assert.deepEqual(t?.labels, {
      pruner: 'magnitude',
      group: '8',
      perm: 'col',
      sparsity: '0.5',
      layer: 'model.layers.1.self_attn.v_proj',
    });
    const file = join(SHARED_WEIGHTS, 'pruned-tree/magnitude/grp_16/row_perm/sparsity_0.75/model.layers.0.mlp.up_proj_permuted.pt');
    const single = await walkWeights({ root: file });
    assert.deepEqual(single.tensors[0]?.labels, {
      pruner: 'magnitude',
      group: '16',
      perm: 'row',
      sparsity: '0.75',
      layer: 'model.layers.0.mlp.up_proj',
    });
  });

  it('ancestors outside the research layout never become labels', async () => {
    assert.deepEqual(researchAncestors('/home/user_x/runs/wanda/grp_8/col_perm'), ['wanda', 'grp_8', 'col_perm']);
    assert.deepEqual(researchAncestors('/home/user_x/run=3'), []);
    const walk = await walkWeights({ root: join(SHARED_WEIGHTS, 'tinystories-656k') });
    assert.deepEqual(walk.tensors[0]?.labels, {});
  });
});
