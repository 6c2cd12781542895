import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parse } from 'csv-parse/sync';

import { type DeviceSlot, type SlotCallOptions, openDeviceWorker } from '../../src/bench/device-slot.js';
import { runCommand } from '../../src/commands/run.js';
import { EsmmError } from '../../src/errors.js';
import { loadNative } from '../../src/native/index.js';
import type { BenchmarkParams, BenchmarkResult } from '../../src/native/types.js';
import { tempDir } from '../helpers.js';
import { fakeNative } from '../pipeline/fake-native.js';
import { cpuRunFlags, randomMatrix, runCli, writeSafetensorsF32 } from '../pipeline/fixtures.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const tree = join(tmp.dir, 'tree');
const SHAPES = [
  [64, 32],
  [16, 16],
  [128, 64],
  [32, 32],
  [8, 8],
  [96, 48],
  [24, 40],
  [64, 64],
];

before(() => {
  SHAPES.forEach(([rows, cols], i) =>
    writeSafetensorsF32(join(tree, `layer-${i}`, 'model.safetensors'), { 'mlp.weight': { shape: [rows, cols], data: randomMatrix(rows, cols, i + 3, 0.5) } }),
  );
  writeFileSync(join(tree, 'broken.safetensors'), 'not a checkpoint');
});

const opts = (out: string, extra: Record<string, unknown> = {}) => cpuRunFlags(out, join(tmp.dir, 'cache'), extra);

const rowsOf = (csv: string): Record<string, string>[] => parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fake devices: each benchmarks with the fake binding after `delayMs`, naming itself in its results. */
function fakeDevices(opts: { delayMs?: (index: number) => number; failOn?: (index: number, call: number) => Error | null } = {}) {
  const calls: { index: number; params: BenchmarkParams; options: SlotCallOptions | undefined }[] = [];
  const opened: number[] = [];
  const openDevice = (index: number, name: string): DeviceSlot => {
    opened.push(index);
    const native = fakeNative();
    let n = 0;
    return {
      index,
      name,
      async benchmark(params, options) {
        calls.push({ index, params, options });
        await sleep(opts.delayMs?.(index) ?? 0);
        const err = opts.failOn?.(index, n++);
        if (err) throw err;
        return { ...(await native.benchmark(params)), device: `fake ${index}` };
      },
      async close() {},
    };
  };
  return { calls, opened, openDevice };
}

describe('--devices: one worker per device', () => {
  let single: Record<string, string>[];
  let singleCalls: BenchmarkParams[];
  before(async () => {
    const native = fakeNative();
    await runCommand(tree, opts(join(tmp.dir, 'single.csv')), { native });
    singleCalls = native.calls;
    single = rowsOf(join(tmp.dir, 'single.csv'));
    assert.equal(single.length, SHAPES.length * 2 * 2 + 1);
  });

  it('rows come out in planned order whichever device ran them; the largest tensors go first', async () => {
    // Device 0 is slow, so the others finish tensors planned after its own first.
    const devices = fakeDevices({ delayMs: (i) => (i === 0 ? 30 : 1) });
    const out = join(tmp.dir, 'three.csv');
    const s = await runCommand(tree, opts(out, { devices: '0,1,2' }), { native: fakeNative(), openDevice: devices.openDevice });
    assert.deepEqual(devices.opened, [0, 1, 2]);
    assert.equal(s.failed, 0);
    const rows = rowsOf(out);
    assert.deepEqual(
      rows.map(({ device: _d, ...r }) => r),
      single.map(({ device: _d, ...r }) => r),
    );
    const ran = new Set(rows.filter((r) => r.status === 'ok').map((r) => r.device));
    assert.deepEqual([...ran].sort(), ['fake 0', 'fake 1', 'fake 2']);
    // The first call on each device: the three largest tensors (by m·k·n).
    const firsts = [0, 1, 2].map((i) => devices.calls.find((c) => c.index === i)!.params);
    assert.deepEqual(firsts.map((p) => p.k * p.n).sort((a, b) => b - a), [128 * 64, 96 * 48, 64 * 64]);
    assert.ok(devices.calls.every((c) => c.params.device === c.index));
    // The same kernels (the dense baselines with them) and noise discipline as on one device.
    const settings = ({ kernels, backend, seed, runs, warmup, l2, stdevTarget, timeCapMs, minSampleMs }: BenchmarkParams) =>
      JSON.stringify({ kernels, backend, seed, runs, warmup, l2, stdevTarget, timeCapMs, minSampleMs });
    assert.ok(singleCalls.length > 0 && singleCalls[0].stdevTarget !== undefined);
    assert.deepEqual([...new Set(devices.calls.map((c) => settings(c.params)))], [...new Set(singleCalls.map(settings))]);
    const record = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    assert.deepEqual(record.params.devices, [0, 1, 2]);
    // Each device's time in calls; the host-side share is of the three devices' time (the sum
    // of their call times is more than the wall time, and the share stays in [0, 1]).
    assert.deepEqual(Object.keys(record.deviceNativeMs).sort(), ['0', '1', '2']);
    const sum = Object.values(record.deviceNativeMs as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - record.stageMs.native_ms) < 1e-6 * sum + 1e-9);
    assert.ok(record.hostOverheadFraction >= 0 && record.hostOverheadFraction <= 1, String(record.hostOverheadFraction));
    assert.ok(Math.abs(record.hostOverheadFraction - (1 - sum / (3 * record.wallMs))) < 0.01);
    // B is a transposed copy made for the tensor (linear orientation): the device may take it.
    assert.ok(devices.calls.every((c) => c.options?.transferB === true));
  });

  it('a tensor a failing device gives back runs on a device that had already found the queue empty', async () => {
    // Device 1 takes the largest tensor (and the next), is slow, and fails for good on its second
    // call, long after device 0 has run everything else and stopped.
    const devices = fakeDevices({
      delayMs: (i) => (i === 1 ? 400 : 0),
      failOn: (i, call) => (i === 1 && call === 1 ? new EsmmError('CUDA_ERROR', 'an illegal memory access was encountered') : null),
    });
    const out = join(tmp.dir, 'given-back.csv');
    const s = await runCommand(tree, opts(out, { devices: '0,1' }), { native: fakeNative(), openDevice: devices.openDevice });
    const rows = rowsOf(out);
    assert.deepEqual(
      rows.map((r) => [r.source_file, r.tensor, r.m, r.kernel]),
      single.map((r) => [r.source_file, r.tensor, r.m, r.kernel]),
    );
    // Only the second M of the tensor device 1 was running fails; nothing is "no working device left".
    const failed = rows.filter((r) => r.status === 'failed');
    assert.equal(failed.length, 2, JSON.stringify(failed.map((r) => r.reason)));
    assert.ok(failed.every((r) => /^CUDA_ERROR /.test(r.reason) && r.device === 'device 1'));
    assert.equal(s.failed, 2);
    assert.equal(devices.calls.filter((c) => c.index === 1).length, 2);
    assert.equal(rows.filter((r) => r.device === 'fake 0').length, single.length - 1 - 4);
  });

  it('a device that fails for good fails the points it was running; the others run the rest', async () => {
    const devices = fakeDevices({ failOn: (i, call) => (i === 1 && call === 0 ? new EsmmError('CUDA_ERROR', 'an illegal memory access was encountered') : null) });
    const out = join(tmp.dir, 'one-lost.csv');
    const s = await runCommand(tree, opts(out, { devices: '0,1,2' }), { native: fakeNative(), openDevice: devices.openDevice });
    const rows = rowsOf(out);
    assert.deepEqual(
      rows.map((r) => [r.source_file, r.tensor, r.m, r.kernel]),
      single.map((r) => [r.source_file, r.tensor, r.m, r.kernel]),
    );
    const failed = rows.filter((r) => r.status === 'failed');
    // One tensor's two M × two kernels.
    assert.equal(failed.length, 4);
    assert.ok(failed.every((r) => r.device === 'device 1' && /^CUDA_ERROR \S+#mlp\.weight: an illegal memory access/.test(r.reason)), JSON.stringify(failed[0]));
    assert.equal(new Set(failed.map((r) => r.source_file)).size, 1);
    assert.equal(devices.calls.filter((c) => c.index === 1).length, 1);
    assert.equal(s.failed, 4);
    assert.equal(rows.filter((r) => r.status === 'ok').length, single.length - 1 - 4);
  });

  it('when every device is lost, what is left fails with the reasons', async () => {
    const devices = fakeDevices({ failOn: () => new EsmmError('CUDA_ERROR', 'device lost') });
    const out = join(tmp.dir, 'all-lost.csv');
    await runCommand(tree, opts(out, { devices: '0,1' }), { native: fakeNative(), openDevice: devices.openDevice });
    const rows = rowsOf(out);
    assert.equal(rows.length, single.length);
    assert.equal(rows.filter((r) => r.status === 'failed').length, single.length - 1);
    assert.ok(rows.some((r) => /^NO_DEVICE: no working device left \(device 0 \(device 0\): device lost; device 1/.test(r.reason)));
    assert.equal(devices.calls.length, 2);
  });

  it('--devices is refused on the cpu backend (exit 2)', async () => {
    const r = await runCli(['run', tree, '--backend', 'cpu', '--devices', '0,1', '--out', join(tmp.dir, 'x.csv')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--devices needs the cuda backend/);
    const bad = await runCli(['run', tree, '--backend', 'cpu', '--devices', 'a', '--out', join(tmp.dir, 'x.csv')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--devices takes device indices/);
  });

  it('a device worker keeps a tensor between calls: B moved once, the other M reuse it, the same results', async () => {
    const native = loadNative();
    const k = 64;
    const n = 96;
    const bOf = (seed: number): Float32Array => randomMatrix(k, n, seed, 0.5);
    const call = (m: number, b: Float32Array): BenchmarkParams => ({ backend: 'cpu', m, k, n, seed: 1, b, kernels: ['reference', 'esmm'], warmup: 0, runs: 1, l2: 'hot' });
    const facts = (r: BenchmarkResult) => r.kernels.map((x) => [x.id, x.ok, x.relErrFrobenius, x.maxAbsErrRel]).concat([[r.kDensity, r.skippedSliceFraction]]);
    const slot = openDeviceWorker(0, 'cpu');
    try {
      const b1 = bOf(1);
      const expected = await Promise.all([call(4, bOf(1)), call(16, bOf(1)), call(4, bOf(2))].map((p) => native.benchmark(p)));
      const first = await slot.benchmark(call(4, b1), { transferB: true });
      assert.equal(b1.length, 0, 'moved to the device thread, detached here');
      const second = await slot.benchmark(call(16, b1), { transferB: true });
      const other = await slot.benchmark(call(4, bOf(2)));
      assert.deepEqual([first, second, other].map(facts), expected.map(facts));
      // One tensor's calls in one request, run back to back.
      const b3 = bOf(1);
      const both = await slot.benchmarkAll!([call(4, b3), call(16, b3)], { transferB: true });
      assert.deepEqual(both.map((o) => ('result' in o ? facts(o.result) : o.error)), expected.slice(0, 2).map(facts));
      // A failure comes back with its code; the worker goes on.
      await assert.rejects(slot.benchmark(call(4, bOf(3).subarray(1))), { code: 'SHAPE' });
      assert.deepEqual(facts(await slot.benchmark(call(4, bOf(2)))), facts(expected[2]));
    } finally {
      await slot.close();
    }
  });

  it('a device worker loads the addon in its own thread and benchmarks there', async () => {
    const slot = openDeviceWorker(0, 'cpu');
    try {
      const result = await slot.benchmark({ backend: 'cpu', m: 4, k: 32, n: 32, seed: 1, synthetic: { mode: 'joint', density: 0.5 }, kernels: ['reference', 'esmm'], warmup: 0, runs: 1, l2: 'hot' });
      assert.deepEqual(result.kernels.map((k) => k.id).sort(), ['esmm', 'reference']);
      assert.ok(result.kernels.every((k) => k.ok));
    } finally {
      await slot.close();
    }
  });
});
