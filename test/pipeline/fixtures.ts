import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { REPO_ROOT } from '../helpers.js';

/** A single-file safetensors F32 checkpoint; each tensor is [rows, cols] row-major. */
export function writeSafetensorsF32(file: string, tensors: Record<string, { shape: number[]; data: Float32Array }>): void {
  const header: Record<string, unknown> = {};
  const bodies: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    bodies.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...bodies]));
}

/** Deterministic values in [-1, 1) with a fraction `zeros` of exact zeros. */
export function randomMatrix(rows: number, cols: number, seed: number, zeros = 0): Float32Array {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = next() < zeros ? 0 : next() * 2 - 1;
  return out;
}

/** How to start the CLI in a child process, whether the tests run compiled or through tsx. */
export function cliArgv(): string[] {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli.ts')] : [join(REPO_ROOT, 'dist', 'src', 'cli.js')];
}

export function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, [...cliArgv(), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the CLI to completion; resolves with its exit code and output. */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** The raw flags of a small CPU `run` (as commander hands them to runCommand), with overrides. */
export function cpuRunFlags(out: string, cacheDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    m: '4,16',
    kernels: 'esmm,cublas',
    orientation: 'linear',
    backend: 'cpu',
    device: '0',
    runs: '2',
    warmup: '0',
    l2: 'hot',
    seed: '1',
    out,
    resume: false,
    overwrite: false,
    cacheDir,
    progress: false,
    ...extra,
  };
}
