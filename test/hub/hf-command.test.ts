import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Command } from 'commander';
import { parse } from 'csv-parse/sync';

import { SHARED_WEIGHTS, tempDir } from '../helpers.js';
import { registerHf, type HfDeps } from '../../src/commands/hf.js';
import { fetchPlanFiles, planFromHub, type ModelPlan } from '../../src/hub/index.js';
import { repoFromDir, startFakeHub, type FakeHub } from './fake-hub.js';
import { TINY_GPT2_CONFIG, TINY_GPT2_TENSORS, writeSafetensors } from './safetensors-fixture.js';

/** Runs `esmm-bench hf …` in-process through commander; returns what it printed. */
async function hf(args: string[], deps: HfDeps = {}): Promise<string> {
  const program = new Command('esmm-bench').exitOverride();
  let text = '';
  registerHf(program, { ...deps, stdout: (t) => void (text += t) });
  const before = process.exitCode;
  try {
    await program.parseAsync(['hf', ...args], { from: 'user' });
  } finally {
    process.exitCode = before;
  }
  return text;
}

const CPU_RUN = ['--backend', 'cpu', '--m', '4', '--runs', '1', '--warmup', '0', '--no-progress'];

type Row = Record<string, string>;
function readRows(csv: string): Row[] {
  return parse(readFileSync(csv, 'utf8'), { columns: true }) as Row[];
}

describe('esmm-bench hf', () => {
  let hub: FakeHub;
  const single = repoFromDir('esmm-test/tinystories', join(SHARED_WEIGHTS, 'tinystories-656k'), ['config.json', 'model.safetensors']);
  const sharded = repoFromDir('esmm-test/tinystories-sharded', join(SHARED_WEIGHTS, 'tinystories-656k-sharded'), [
    'config.json',
    'model.safetensors.index.json',
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
  ]);
  const gated = { ...repoFromDir('esmm-test/gated', join(SHARED_WEIGHTS, 'tinystories-656k'), ['config.json', 'model.safetensors']), token: 'hf_granted' };

  before(async () => {
    hub = await startFakeHub([single, sharded, gated]);
  });
  after(async () => {
    await hub.close();
  });

  test('--dry-run --json prints the plan from the hub and downloads nothing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const text = await hf([single.id, '--hub-url', hub.url, '--hf-cache', dir, '--dry-run', '--json']);
      const plan = JSON.parse(text) as ModelPlan;
      assert.equal(plan.source, 'hub');
      assert.equal(plan.commit, single.commit);
      assert.equal(plan.tensors.length, 14);
      assert.equal(plan.downloadBytes, 649 + 2626168);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      cleanup();
    }
  });

  test('--offline over a pre-filled cache benchmarks every linear layer (cpu backend)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = await planFromHub({ repo: single.id, revision: 'main', cacheDir: dir, hub: { hubUrl: hub.url } });
      await fetchPlanFiles({ plan, cacheDir: dir, hub: { hubUrl: hub.url } });
      const n = hub.requests.length;
      const csv = join(dir, 'out', 'hf.csv');
      // The cache is found the way huggingface_hub finds it: HF_HUB_CACHE first.
      const saved = process.env['HF_HUB_CACHE'];
      process.env['HF_HUB_CACHE'] = dir;
      let text: string;
      try {
        text = await hf([single.id, '--offline', '--out', csv, ...CPU_RUN]);
      } finally {
        if (saved === undefined) delete process.env['HF_HUB_CACHE'];
        else process.env['HF_HUB_CACHE'] = saved;
      }
      assert.equal(hub.requests.length, n, 'offline: no request reached the hub');
      assert.match(text, /28 rows written \(28 ok, 0 failed, 0 skipped\) on cpu/);
      const rows = readRows(csv);
      assert.deepEqual([...new Set(rows.map((r) => r['tensor']))].sort(), plan.tensors.map((t) => t.name).sort());
      // Two kernels per tensor (ESMM and the baseline, which the cpu backend names after its reference GEMM).
      const kernels = [...new Set(rows.map((r) => r['kernel']))];
      assert.equal(kernels.length, 2);
      assert.ok(kernels.includes('esmm'));
      for (const r of rows) {
        assert.equal(r['status'], 'ok');
        assert.equal(r['orientation'], 'linear');
        const t = plan.tensors.find((p) => p.name === r['tensor'])!;
        // Linear: B = Wᵀ, so K = in features (stored columns), N = out features (stored rows).
        assert.deepEqual([Number(r['k']), Number(r['n'])], [t.shape[1], t.shape[0]]);
        assert.ok(r['source_file']!.includes(join('models--esmm-test--tinystories', 'snapshots', single.commit)));
        const labels = JSON.parse(r['labels_json']!) as Record<string, string>;
        assert.equal(labels['model'], single.id);
        assert.equal(labels['revision'], single.commit);
        assert.equal(labels['arch'], 'llama');
        assert.equal(labels['module'], t.labels['module']);
      }
      assert.ok(existsSync(join(dir, 'models--esmm-test--tinystories', '.esmm-cache')), 'patterns cached in the repo folder');
    } finally {
      cleanup();
    }
  });

  test('HF_HUB_OFFLINE=1 with an empty cache fails naming the model and the cache', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await assert.rejects(hf([single.id, '--hf-cache', dir, '--hub-url', hub.url, ...CPU_RUN], { env: { HF_HUB_OFFLINE: '1' } }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'OFFLINE');
        assert.match(err.message, new RegExp(`esmm-test/tinystories is not in the Hugging Face cache ${dir}`));
        return true;
      });
    } finally {
      cleanup();
    }
  });

  test('online: plan, fetch, then run; the snapshot files are what the pipeline reads', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const seen: string[][] = [];
      const text = await hf([single.id, '--hub-url', hub.url, '--hf-cache', dir, '--out', join(dir, 'r.csv'), ...CPU_RUN], {
        runPipeline: async (params) => {
          seen.push(params.tensors.map((t) => t.file));
          assert.equal(params.tensors.length, 14);
          assert.deepEqual(params.ms, [4]);
          return { rows: 0, ok: 0, failed: 0, skipped: 0, resumed: 0, csvPath: params.out, sidecarPath: params.out + '.json', wallMs: 1 };
        },
      });
      assert.match(text, /download {2}2\.6 MB/);
      const snapshotFile = join(dir, 'models--esmm-test--tinystories', 'snapshots', single.commit, 'model.safetensors');
      assert.deepEqual(new Set(seen[0]), new Set([snapshotFile]));
      assert.equal(readFileSync(join(dir, 'models--esmm-test--tinystories', 'refs', 'main'), 'utf8'), single.commit);
    } finally {
      cleanup();
    }
  });

  test('GPT-2 Conv1D weights ([in, out]) run with orientation raw, whatever --orientation says', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const model = join(dir, 'tiny-gpt2');
      mkdirSync(model);
      writeFileSync(join(model, 'config.json'), JSON.stringify(TINY_GPT2_CONFIG));
      writeSafetensors(join(model, 'model.safetensors'), TINY_GPT2_TENSORS);
      const plan = JSON.parse(await hf(['--local', model, '--dry-run', '--json'])) as ModelPlan;
      assert.equal(plan.architecture, 'gpt2');
      assert.deepEqual(
        plan.tensors.map((t) => [t.name, t.shape, t.orientation]),
        [
          ['h.0.attn.c_attn.weight', [8, 24], 'raw'],
          ['h.0.attn.c_proj.weight', [8, 8], 'raw'],
          ['h.0.mlp.c_fc.weight', [8, 32], 'raw'],
          ['h.0.mlp.c_proj.weight', [32, 8], 'raw'],
        ],
      );
      const csv = join(dir, 'gpt2.csv');
      await hf(['--local', model, '--out', csv, '--orientation', 'linear', ...CPU_RUN]);
      const rows = readRows(csv);
      assert.equal(rows.length, 8);
      for (const r of rows) {
        assert.equal(r['status'], 'ok');
        assert.equal(r['orientation'], 'raw');
        // Raw: B = W as stored, K = stored rows (in features).
        const t = plan.tensors.find((p) => p.name === r['tensor'])!;
        assert.deepEqual([Number(r['k']), Number(r['n'])], t.shape);
      }
    } finally {
      cleanup();
    }
  });

  test('a gated repo: refused without HF_TOKEN with a hint, planned with it (the token sent on every hub call)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await assert.rejects(hf([gated.id, '--hub-url', hub.url, '--hf-cache', dir, '--dry-run'], { env: {} }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'NETWORK');
        assert.match(err.message, /resolving esmm-test\/gated@main: access denied \(HTTP 401; a gated or private repo needs HF_TOKEN/);
        return true;
      });
      const n = hub.requests.length;
      const plan = JSON.parse(await hf([gated.id, '--hub-url', hub.url, '--hf-cache', dir, '--dry-run', '--json'], { env: { HF_TOKEN: 'hf_granted' } })) as ModelPlan;
      assert.equal(plan.tensors.length, 14);
      const calls = hub.requests.slice(n).filter((r) => !r.path.startsWith('/cdn/'));
      assert.ok(calls.length > 0);
      assert.ok(calls.every((r) => r.authorization === 'Bearer hf_granted'));
    } finally {
      cleanup();
    }
  });

  test('a manifest drives the rules, labels and shape checks; a mismatch is a warning in the plan', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const manifest = join(dir, 'm.json');
      writeFileSync(
        manifest,
        JSON.stringify({
          repo: single.id,
          revision: single.commit,
          architecture: 'llama',
          labels: { pruner: 'none', sparsity: '0' },
          expect: [
            { module: 'self_attn.q_proj', shape: [128, 128], count: 2 },
            { module: 'self_attn.k_proj', shape: [128, 128], count: 2 },
          ],
        }),
      );
      const plan = JSON.parse(await hf([single.id, '--manifest', manifest, '--hub-url', hub.url, '--hf-cache', dir, '--dry-run', '--json'])) as ModelPlan;
      assert.equal(plan.revision, single.commit);
      assert.equal(plan.rules, `manifest ${manifest}`);
      assert.deepEqual(plan.labels, { model: single.id, revision: single.commit, arch: 'llama', pruner: 'none', sparsity: '0' });
      assert.deepEqual(plan.warnings, ['manifest expects self_attn.k_proj of shape [128, 128], model.layers.0.self_attn.k_proj.weight is [64, 128]']);
      await assert.rejects(hf(['other/model', '--manifest', manifest, '--dry-run']), /is for esmm-test\/tinystories, not other\/model/);
    } finally {
      cleanup();
    }
  });

  test('--filter narrows the plan: shards holding no selected layer are not fetched, and offline not required', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = JSON.parse(await hf([sharded.id, '--filter', 'layer=1', '--hub-url', hub.url, '--hf-cache', dir, '--dry-run', '--json'])) as ModelPlan;
      assert.deepEqual(plan.files.map((f) => f.path), ['config.json', 'model.safetensors.index.json', 'model-00002-of-00002.safetensors']);
      assert.equal(plan.tensors.length, 7);
      assert.equal(plan.filteredOut, 7);
      assert.ok(plan.tensors.every((t) => t.labels['layer'] === '1'));

      const csv = join(dir, 'f.csv');
      await hf([sharded.id, '--filter', 'layer=1', '--exclude', 'mlp', '--hub-url', hub.url, '--hf-cache', dir, '--out', csv, ...CPU_RUN]);
      const snapshot = join(dir, 'models--esmm-test--tinystories-sharded', 'snapshots', sharded.commit);
      assert.deepEqual(readdirSync(snapshot).sort(), ['config.json', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
      const tensors = [...new Set(readRows(csv).map((r) => r['tensor']))].sort();
      assert.deepEqual(tensors, ['k', 'o', 'q', 'v'].map((x) => `model.layers.1.self_attn.${x}_proj.weight`));

      // Offline, the missing first shard only matters when a selected layer lives there.
      const offline = JSON.parse(await hf([sharded.id, '--offline', '--filter', 'layer=1', '--hf-cache', dir, '--dry-run', '--json'])) as ModelPlan;
      assert.deepEqual([offline.tensors.length, offline.filteredOut, offline.otherTensors], [plan.tensors.length, plan.filteredOut, plan.otherTensors]);
      await assert.rejects(hf([sharded.id, '--offline', '--hf-cache', dir, '--dry-run']), /lacks model-00001-of-00002\.safetensors/);
    } finally {
      cleanup();
    }
  });

  test('usage errors: no model and no --local, --local with --offline, a bad HF_TOKEN', async () => {
    await assert.rejects(hf([...CPU_RUN]), (err: Error & { code?: string }) => err.code === 'USAGE' && /name a model/.test(err.message));
    await assert.rejects(hf(['--local', '.', '--offline', ...CPU_RUN]), /exclude each other/);
    await assert.rejects(hf([single.id, '--dry-run'], { env: { HF_TOKEN: 'nope' } }), /HF_TOKEN must start with hf_/);
    await assert.rejects(hf(['../x', '--dry-run']), /bad model id/);
  });
});
