import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import {
  fetchPlanFiles,
  parseRepoSpec,
  planFromDir,
  planFromHub,
  resolveCachedSnapshot,
} from '../../src/hub/index.js';
import { gitOid, repoFromDir, sha256, startFakeHub, type FakeHub, type FakeRepo } from './fake-hub.js';
import { safetensorsBytes } from './safetensors-fixture.js';

const SINGLE_DIR = join(SHARED_WEIGHTS, 'tinystories-656k');
const SHARDED_DIR = join(SHARED_WEIGHTS, 'tinystories-656k-sharded');
const SHARDS = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];

/** The linear layers of TinyStories-656K, derived from its config.json (a Llama with GQA). */
function expectedLinear(): Array<{ name: string; shape: number[] }> {
  const c = JSON.parse(readFileSync(join(SINGLE_DIR, 'config.json'), 'utf8')) as Record<string, number>;
  const h = c['hidden_size']!;
  const inter = c['intermediate_size']!;
  const kv = (c['num_key_value_heads']! * h) / c['num_attention_heads']!;
  const out: Array<{ name: string; shape: number[] }> = [];
  for (let l = 0; l < c['num_hidden_layers']!; l++) {
    const p = `model.layers.${l}`;
    out.push(
      { name: `${p}.mlp.down_proj.weight`, shape: [h, inter] },
      { name: `${p}.mlp.gate_proj.weight`, shape: [inter, h] },
      { name: `${p}.mlp.up_proj.weight`, shape: [inter, h] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, h] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [h, h] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [h, h] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, h] },
    );
  }
  return out;
}

/** Every entry under a folder: `path` (dir), `path -> target` (symlink), `path <bytes>` (file). */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const rel = relative(root, full);
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/`);
        walk(full);
      } else out.push(`${rel} ${st.size}`);
    }
  };
  walk(root);
  return out;
}

/** What huggingface_hub writes for these files at this commit. */
function expectedTree(repo: FakeRepo, folder: string, files: string[]): string[] {
  const hash = (f: string): string => {
    const file = repo.files.get(f)!;
    return file.lfs ? sha256(file.data) : gitOid(file.data);
  };
  const blobs = files.map((f) => `${folder}/blobs/${hash(f)} ${repo.files.get(f)!.data.length}`);
  const links = files.map((f) => `${folder}/snapshots/${repo.commit}/${f} -> ../../blobs/${hash(f)}`);
  return [
    `${folder}/`,
    `${folder}/blobs/`,
    ...blobs,
    `${folder}/refs/`,
    `${folder}/refs/main 40`,
    `${folder}/snapshots/`,
    `${folder}/snapshots/${repo.commit}/`,
    ...links,
  ].sort();
}

describe('hub: plan from headers, fetch into the HF cache', () => {
  let hub: FakeHub;
  const single = repoFromDir('esmm-test/tinystories', SINGLE_DIR, ['config.json', 'model.safetensors', 'model.bf16.safetensors', 'model.f16.safetensors']);
  const sharded = repoFromDir('esmm-test/tinystories-sharded', SHARDED_DIR, ['config.json', 'model.safetensors.index.json', ...SHARDS]);
  // A checkpoint whose second shard holds no linear layer: it must never be downloaded.
  const partial: FakeRepo = (() => {
    const config = Buffer.from(JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    const s1 = safetensorsBytes([
      { name: 'model.layers.0.self_attn.q_proj.weight', shape: [16, 8] },
      { name: 'model.layers.0.mlp.down_proj.weight', shape: [8, 24] },
    ]);
    const s2 = safetensorsBytes([{ name: 'model.embed_tokens.weight', shape: [64, 8] }]);
    const index = Buffer.from(
      JSON.stringify({
        metadata: { total_size: 0 },
        weight_map: {
          'model.layers.0.self_attn.q_proj.weight': 'model-00001-of-00002.safetensors',
          'model.layers.0.mlp.down_proj.weight': 'model-00001-of-00002.safetensors',
          'model.embed_tokens.weight': 'model-00002-of-00002.safetensors',
        },
      }),
    );
    return {
      id: 'esmm-test/partial',
      commit: 'c'.repeat(40),
      files: new Map([
        ['config.json', { data: config, lfs: false }],
        ['model.safetensors.index.json', { data: index, lfs: false }],
        ['model-00001-of-00002.safetensors', { data: s1, lfs: true }],
        ['model-00002-of-00002.safetensors', { data: s2, lfs: true }],
      ]),
    };
  })();
  const unsafeRepo = (shard: string): FakeRepo => ({
    id: `esmm-test/unsafe-${shard.startsWith('/') ? 'abs' : 'dots'}`,
    commit: 'd'.repeat(40),
    files: new Map([
      ['config.json', { data: readFileSync(join(SINGLE_DIR, 'config.json')), lfs: false }],
      ['model.safetensors.index.json', { data: Buffer.from(JSON.stringify({ weight_map: { 'model.layers.0.self_attn.q_proj.weight': shard } })), lfs: false }],
    ]),
  });
  const binOnly: FakeRepo = {
    id: 'esmm-test/bin-only',
    commit: 'e'.repeat(40),
    files: new Map([
      ['config.json', { data: readFileSync(join(SINGLE_DIR, 'config.json')), lfs: false }],
      ['pytorch_model.bin', { data: Buffer.from('not read'), lfs: true }],
    ]),
  };
  const dotsRepo = unsafeRepo('../../../escape.safetensors');
  const absRepo = unsafeRepo('/tmp/escape.safetensors');

  before(async () => {
    hub = await startFakeHub([single, sharded, partial, dotsRepo, absRepo, binOnly]);
  });
  after(async () => {
    await hub.close();
  });

  test('dry-run plan: the linear layers of TinyStories with their shapes, from remote headers, nothing written', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const before = hub.requests.length;
      const plan = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.deepEqual(
        plan.tensors.map((t) => ({ name: t.name, shape: t.shape })),
        expectedLinear(),
      );
      const expected = JSON.parse(readFileSync(join(SHARED_WEIGHTS, 'expected.json'), 'utf8')) as Record<string, { tensors: Record<string, { shape: number[] }> }>;
      for (const t of plan.tensors) assert.deepEqual(t.shape, expected['tinystories-656k/model.safetensors']!.tensors[t.name]!.shape);
      assert.ok(plan.tensors.every((t) => t.dtype === 'F32' && t.orientation === 'linear' && t.file === 'model.safetensors'));
      assert.equal(plan.commit, single.commit);
      assert.equal(plan.otherTensors, 6);
      assert.deepEqual(
        plan.files.map((f) => [f.path, f.size, f.linearTensors, f.cached]),
        [
          ['config.json', 649, 0, false],
          ['model.safetensors', 2626168, 14, false],
        ],
      );
      assert.equal(plan.downloadBytes, 649 + 2626168);
      assert.deepEqual(plan.labels, { model: single.id, revision: single.commit, arch: 'llama' });
      assert.deepEqual(plan.tensors[0]!.labels, { layer: '0', module: 'mlp.down_proj' });
      // Headers only: every byte request of a safetensors file was a small range.
      const bodyGets = hub.requests.slice(before).filter((r) => r.method === 'GET' && r.path.endsWith('.safetensors') && r.range === undefined);
      assert.deepEqual(bodyGets, []);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      cleanup();
    }
  });

  test('single file: cache layout as huggingface_hub writes it, blobs byte-identical', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      const snapshot = await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      const folder = 'models--esmm-test--tinystories';
      assert.equal(snapshot, join(dir, folder, 'snapshots', single.commit));
      assert.deepEqual(tree(dir), expectedTree(single, folder, ['config.json', 'model.safetensors']));
      assert.equal(readFileSync(join(dir, folder, 'refs', 'main'), 'utf8'), single.commit);
      for (const f of ['config.json', 'model.safetensors']) {
        assert.ok(readFileSync(join(snapshot, f)).equals(readFileSync(join(SINGLE_DIR, f))), f);
      }
      // A second plan sees everything cached and a second fetch downloads nothing.
      const again = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.equal(again.downloadBytes, 0);
      const n = hub.requests.length;
      await fetchPlanFiles({ plan: again, cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.deepEqual(hub.requests.slice(n), []);
    } finally {
      cleanup();
    }
  });

  test('sharded: every shard, the index and config.json land in the layout', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: sharded.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.deepEqual(
        plan.files.map((f) => [f.path, f.linearTensors]),
        [
          ['config.json', 0],
          ['model.safetensors.index.json', 0],
          [SHARDS[0], 7],
          [SHARDS[1], 7],
        ],
      );
      assert.deepEqual(
        plan.tensors.map((t) => ({ name: t.name, shape: t.shape })),
        expectedLinear(),
      );
      await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      const folder = 'models--esmm-test--tinystories-sharded';
      assert.deepEqual(tree(dir), expectedTree(sharded, folder, ['config.json', 'model.safetensors.index.json', ...SHARDS]));
      for (const f of SHARDS) {
        assert.ok(readFileSync(join(dir, folder, 'snapshots', sharded.commit, f)).equals(readFileSync(join(SHARDED_DIR, f))), f);
      }
    } finally {
      cleanup();
    }
  });

  test('a shard holding no linear layer is neither planned nor downloaded', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: partial.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.deepEqual(plan.files.map((f) => f.path), ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors']);
      assert.deepEqual(plan.tensors.map((t) => [t.name, t.shape]), [
        ['model.layers.0.mlp.down_proj.weight', [8, 24]],
        ['model.layers.0.self_attn.q_proj.weight', [16, 8]],
      ]);
      const n = hub.requests.length;
      const snapshot = await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.ok(!existsSync(join(snapshot, 'model-00002-of-00002.safetensors')));
      assert.ok(!hub.requests.slice(n).some((r) => r.path.includes('model-00002-of-00002')));
    } finally {
      cleanup();
    }
  });

  test('a download cut mid-body is resumed with a Range request and ends byte-identical', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      hub.cutOnce.add('model.safetensors');
      const n = hub.requests.length;
      const snapshot = await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.equal(hub.cutOnce.size, 0);
      // The server sends half the body, then resets the connection; a reset can drop bytes the
      // client had not read yet, so the resume starts somewhere in (0, half], never at 0.
      const half = 2626168 >> 1;
      const starts = hub.requests
        .slice(n)
        .filter((r) => r.path === `/cdn/${single.id}/model.safetensors` && /^bytes=\d+-$/.test(r.range ?? ''))
        .map((r) => Number(/^bytes=(\d+)-$/.exec(r.range ?? '')?.[1]));
      assert.equal(starts.length, 1, 'exactly one resumed request');
      assert.ok(starts[0] > 0 && starts[0] <= half, `resumed from byte ${starts[0]}, where the connection dropped`);
      assert.ok(readFileSync(join(snapshot, 'model.safetensors')).equals(readFileSync(join(SINGLE_DIR, 'model.safetensors'))));
      assert.ok(!readdirSync(join(dir, 'models--esmm-test--tinystories', 'blobs')).some((f) => f.endsWith('.incomplete')));
    } finally {
      cleanup();
    }
  });

  test('a download an earlier run left unfinished continues from its last byte', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      const data = single.files.get('model.safetensors')!.data;
      const blobs = join(dir, 'models--esmm-test--tinystories', 'blobs');
      mkdirSync(blobs, { recursive: true });
      writeFileSync(join(blobs, `${sha256(data)}.incomplete`), data.subarray(0, 1_000_000));
      const n = hub.requests.length;
      const snapshot = await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      const bodies = hub.requests.slice(n).filter((r) => r.path === `/cdn/${single.id}/model.safetensors` && r.range !== 'bytes=0-0');
      assert.deepEqual(bodies.map((r) => r.range), ['bytes=1000000-']);
      assert.ok(readFileSync(join(snapshot, 'model.safetensors')).equals(data));
      assert.deepEqual(readdirSync(blobs).filter((f) => f.includes('.')), []);
    } finally {
      cleanup();
    }
  });

  test('a leftover that does not belong to the file fails the check and is not reused', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      const data = single.files.get('model.safetensors')!.data;
      const blobs = join(dir, 'models--esmm-test--tinystories', 'blobs');
      mkdirSync(blobs, { recursive: true });
      writeFileSync(join(blobs, `${sha256(data)}.incomplete`), Buffer.alloc(4096, 7));
      await assert.rejects(fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } }), (err: Error & { code?: string }) => err.code === 'INTEGRITY');
      assert.deepEqual(readdirSync(blobs).filter((f) => f.startsWith(sha256(data))), []);
      const snapshot = await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.ok(readFileSync(join(snapshot, 'model.safetensors')).equals(data));
    } finally {
      cleanup();
    }
  });

  test('a corrupted download is refused and removed from the cache; a clean retry then succeeds', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      hub.corrupt.add('model.safetensors');
      try {
        await assert.rejects(fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'INTEGRITY');
          assert.match(err.message, /model\.safetensors.*sha256 [0-9a-f]{64}, the hub says 187d0d5e/);
          return true;
        });
      } finally {
        hub.corrupt.delete('model.safetensors');
      }
      const folder = join(dir, 'models--esmm-test--tinystories');
      const sha = sha256(single.files.get('model.safetensors')!.data);
      assert.ok(!existsSync(join(folder, 'blobs', sha)));
      assert.ok(!existsSync(join(folder, 'snapshots', single.commit, 'model.safetensors')));
      await assert.rejects(
        resolveCachedSnapshot({ cacheDir: dir, repo: single.id, revision: 'main' }).then((c) =>
          planFromDir({ dir: c.dir, repo: single.id, revision: 'main', commit: c.commit, source: 'cache' }),
        ),
        /OFFLINE|neither model\.safetensors/,
      );
      await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      assert.ok(readFileSync(join(folder, 'blobs', sha)).equals(single.files.get('model.safetensors')!.data));
    } finally {
      cleanup();
    }
  });

  test('offline: a clear error naming what is missing, then the same plan from the cache', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await assert.rejects(resolveCachedSnapshot({ cacheDir: dir, repo: sharded.id, revision: 'main' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'OFFLINE');
        assert.match(err.message, /esmm-test\/tinystories-sharded is not in the Hugging Face cache .*models--esmm-test--tinystories-sharded/);
        return true;
      });
      const remote = await planFromHub({ repo: sharded.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      await fetchPlanFiles({ plan: remote, cacheDir: dir, hub: { hubUrl: hub.url } });
      await assert.rejects(resolveCachedSnapshot({ cacheDir: dir, repo: sharded.id, revision: 'v2' }), /revision "v2" of esmm-test\/tinystories-sharded is not in the cache .*refs\/v2/);

      const cached = await resolveCachedSnapshot({ cacheDir: dir, repo: sharded.id, revision: 'main' });
      assert.equal(cached.commit, sharded.commit);
      const local = await planFromDir({ dir: cached.dir, repo: sharded.id, revision: 'main', commit: cached.commit, source: 'cache' });
      assert.deepEqual(
        local.tensors.map((t) => [t.name, t.file, t.shape, t.dtype]),
        remote.tensors.map((t) => [t.name, t.file, t.shape, t.dtype]),
      );
      assert.deepEqual(local.labels, remote.labels);
      const bySha = await resolveCachedSnapshot({ cacheDir: dir, repo: sharded.id, revision: sharded.commit });
      assert.equal(bySha.dir, cached.dir);

      rmSync(join(cached.dir, SHARDS[1]!));
      await assert.rejects(
        planFromDir({ dir: cached.dir, repo: sharded.id, revision: 'main', commit: cached.commit, source: 'cache' }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'OFFLINE');
          assert.match(err.message, /lacks model-00002-of-00002\.safetensors; run without --offline/);
          return true;
        },
      );
    } finally {
      cleanup();
    }
  });

  test('unsafe names are refused: `..` or absolute repo ids, revisions and shard names', async () => {
    for (const bad of ['../../etc/passwd', 'org/../x', '/abs/model', 'org/name/extra', 'org/..', 'a--b/c']) {
      assert.throws(() => parseRepoSpec(bad), (err: Error & { code?: string }) => err.code === 'USAGE', bad);
    }
    for (const bad of ['org/name@../../x', 'org/name@/abs', 'org/name@a\\b']) {
      assert.throws(() => parseRepoSpec(bad), (err: Error & { code?: string }) => err.code === 'USAGE', bad);
    }
    assert.deepEqual(parseRepoSpec('org/name@refs/pr/1'), { repo: 'org/name', revision: 'refs/pr/1' });
    assert.deepEqual(parseRepoSpec('gpt2'), { repo: 'gpt2' });

    const { dir, cleanup } = tempDir();
    try {
      for (const repo of [dotsRepo, absRepo]) {
        await assert.rejects(planFromHub({ repo: repo.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } }), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'BAD_FILE');
          assert.match(err.message, /Unsafe shard filename/);
          return true;
        });
        // The same index in a local folder.
        const local = join(dir, repo.id.replace('/', '_'));
        mkdirSync(local);
        for (const [name, f] of repo.files) writeFileSync(join(local, name), f.data);
        await assert.rejects(planFromDir({ dir: local, repo: repo.id, revision: 'local', source: 'local' }), /Unsafe shard filename/);
      }
      assert.ok(!existsSync(join(dir, '..', 'escape.safetensors')));
      assert.deepEqual(readdirSync(dir).sort(), ['esmm-test_unsafe-abs', 'esmm-test_unsafe-dots']);
    } finally {
      cleanup();
    }
  });

  test('a checkpoint without safetensors is refused with what to do instead', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await assert.rejects(
        planFromHub({ repo: binOnly.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } }),
        (err: Error & { code?: string }) => err.code === 'UNSUPPORTED' && /esmm-test\/bin-only@e{40}: it has neither model\.safetensors/.test(err.message),
      );
    } finally {
      cleanup();
    }
  });

  test('a revision the hub does not know is a clear NOT_FOUND', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await assert.rejects(
        planFromHub({ repo: single.id, revision: 'no-such-branch', cacheDir: dir, hub: { hubUrl: hub.url } }),
        (err: Error & { code?: string }) => err.code === 'NOT_FOUND' && /resolving esmm-test\/tinystories@no-such-branch/.test(err.message),
      );
    } finally {
      cleanup();
    }
  });
});

