import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { tempDir } from '../helpers.js';
import { f32Bytes, PickleWriter, ptZipBytes } from '../weights/fixtures.js';
import { cli } from './cli-run.js';

const tmp = tempDir();
after(() => tmp.cleanup());

/** Builds a torch.save zip from a nested description: a dict, a list, a 2-D tensor, or raw opcodes. */
type Node = { dict: [string | number, Node][] } | { list: Node[] } | { tensor: [number, number] } | { raw: (w: PickleWriter) => void } | number;

function checkpoint(root: Node): Buffer {
  const w = new PickleWriter();
  const storages: Record<string, Uint8Array> = {};
  const emit = (n: Node): void => {
    if (typeof n === 'number') {
      w.int(n);
    } else if ('dict' in n) {
      w.op(0x7d).mark();
      for (const [k, v] of n.dict) {
        if (typeof k === 'number') w.int(k);
        else w.str(k);
        emit(v);
      }
      w.op(0x75);
    } else if ('list' in n) {
      w.op(0x5d).mark();
      n.list.forEach(emit);
      w.op(0x65);
    } else if ('tensor' in n) {
      const [r, c] = n.tensor;
      const key = String(Object.keys(storages).length);
      storages[key] = f32Bytes(Array.from({ length: r * c }, (_, i) => (i % 2 ? 0 : i + 1)));
      w.tensor('FloatStorage', key, r * c, 0, [r, c], [c, 1]);
    } else {
      n.raw(w);
    }
  };
  emit(root);
  return ptZipBytes(w.bytes(), storages);
}

/** An object of a class this tool does not know, as pickle protocol 2 writes it: NEWOBJ then BUILD. */
const foreign = (module: string, cls: string, state: Node): Node => ({
  raw: (w) => {
    w.global(module, cls).op(0x29, 0x81);
    if (typeof state === 'object' && 'dict' in state) {
      // A dict subclass (AttributeDict): items set directly on it.
      w.mark();
      for (const [k] of state.dict) w.str(String(k)).int(1);
      w.op(0x75);
    }
    w.op(0x7d).op(0x62);
  },
});

const adamState = (): Node => ({ dict: [[0, { dict: [['step', 3], ['exp_avg', { tensor: [16, 8] }], ['exp_avg_sq', { tensor: [16, 8] }]] }]] });

const tree = join(tmp.dir, 'tree');
before(() => {
  mkdirSync(tree, { recursive: true });
  const plain = (): Node => ({ dict: [['fc.weight', { tensor: [16, 8] }]] });
  writeFileSync(join(tree, 'a.pth'), checkpoint(plain()));
  writeFileSync(join(tree, 'b.pth.tar'), checkpoint(plain()));
  // Lightning: state_dict beside optimizer_states, callbacks holding a class of its own, hparams as AttributeDict.
  writeFileSync(
    join(tree, 'lightning.ckpt'),
    checkpoint({
      dict: [
        ['epoch', 2],
        ['state_dict', { dict: [['model.fc.weight', { tensor: [16, 8] }], ['model.fc2.weight', { tensor: [8, 16] }]] }],
        ['callbacks', { dict: [['ModelCheckpoint', foreign('pytorch_lightning.callbacks.model_checkpoint', 'ModelCheckpoint', 0)]] }],
        ['optimizer_states', { list: [{ dict: [['state', adamState()], ['param_groups', { list: [] }]] }] }],
        ['hyper_parameters', foreign('pytorch_lightning.utilities.parsing', 'AttributeDict', { dict: [['lr', 1]] })],
      ],
    }),
  );
  // llama2.c: model beside optimizer.
  mkdirSync(join(tmp.dir, 'llama2c'));
  writeFileSync(
    join(tmp.dir, 'llama2c', 'ckpt.pt'),
    checkpoint({
      dict: [
        ['model', { dict: [['layers.0.attention.wq.weight', { tensor: [16, 16] }], ['output.weight', { tensor: [32, 16] }]] }],
        ['optimizer', { dict: [['state', adamState()], ['param_groups', { list: [] }]] }],
        ['iter_num', 5],
      ],
    }),
  );
});

describe('the weight files people have', () => {
  it('a folder walk reads .pth, .pth.tar and .ckpt', async () => {
    const r = await cli(['scan', tree]);
    assert.match(r.stdout, /a\.pth  fc\.weight/);
    assert.match(r.stdout, /b\.pth\.tar  fc\.weight/);
    assert.match(r.stdout, /lightning\.ckpt  state_dict\.model\.fc\.weight/);
  });

  it('a Lightning checkpoint: unknown classes become inert placeholders, named in the summary; optimizer state is left out', async () => {
    const r = await cli(['scan', join(tree, 'lightning.ckpt')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /scanned 2 tensors/);
    assert.doesNotMatch(r.stdout, /exp_avg/);
    assert.match(r.stderr, /pytorch_lightning\.callbacks\.model_checkpoint\.ModelCheckpoint, pytorch_lightning\.utilities\.parsing\.AttributeDict stubbed as inert placeholders/);
    assert.match(r.stderr, /2 tensors of optimizer or training state left out \(--all-tensors/);
    const all = await cli(['scan', join(tree, 'lightning.ckpt'), '--all-tensors']);
    assert.match(all.stdout, /scanned 4 tensors/);
    assert.match(all.stdout, /optimizer_states\.0\.state\.0\.exp_avg /);
  });

  it('a llama2.c training checkpoint benchmarks the model only, unless --all-tensors', async () => {
    const ckpt = join(tmp.dir, 'llama2c', 'ckpt.pt');
    const args = ['--backend', 'cpu', '--m', '4', '--runs', '1', '--warmup', '0', '--l2', 'hot', '--no-progress', '--cache-dir', join(tmp.dir, 'c')];
    const r = await cli(['run', ckpt, ...args, '--out', join(tmp.dir, 'l.csv')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^4 rows written \(4 ok/);
    const all = await cli(['run', ckpt, ...args, '--all-tensors', '--out', join(tmp.dir, 'l-all.csv')]);
    assert.match(all.stdout, /^8 rows written/);
  });

  for (const [module, name] of [
    ['os', 'system'],
    ['posix', 'system'],
    ['subprocess', 'check_output'],
    ['builtins', 'exec'],
    ['builtins', 'eval'],
    ['importlib', 'import_module'],
    ['sys', 'modules'],
    ['torch.storage', '_load_from_bytes'],
  ]) {
    it(`${module}.${name} in a checkpoint stays refused`, async () => {
      const file = join(tmp.dir, `${module}-${name}.ckpt`);
      writeFileSync(file, checkpoint({ dict: [['w', { tensor: [16, 8] }], ['cb', { raw: (w) => void w.global(module, name).str('x').op(0x85, 0x52) }]] }));
      const r = await cli(['scan', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`pickle asks for ${module}\\.${name}, which is not on the allow-list`));
    });
  }
});
