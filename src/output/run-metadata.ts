import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { VERSION, buildInfo } from '../version.js';

/** Longest we wait for nvidia-smi; a hung driver must not hang the benchmark. */
const NVIDIA_SMI_TIMEOUT_MS = 10_000;

/** The commit of a git checkout at `root`, read from .git without running git; 'unknown' otherwise. */
export function gitCommit(root: string): string {
  try {
    let gitDir = join(root, '.git');
    if (!existsSync(gitDir)) return 'unknown';
    // A worktree or submodule has a .git file naming the real folder.
    if (statSync(gitDir).isFile()) {
      const target = /^gitdir: (.+)$/m.exec(readFileSync(gitDir, 'utf8'))?.[1]?.trim();
      if (!target) return 'unknown';
      gitDir = resolve(root, target);
    }
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return 'unknown';
    const loose = join(gitDir, ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    const packed = join(gitDir, 'packed-refs');
    if (existsSync(packed)) {
      for (const line of readFileSync(packed, 'utf8').split('\n')) {
        const [sha, name] = line.split(' ');
        if (name === ref && sha && /^[0-9a-f]{40}$/.test(sha)) return sha;
      }
    }
    return 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The `tool` entry of a run record: the commits the TypeScript and the addon were built from, as
 * each recorded it at build time (never the checkout's HEAD at run time, which may differ).
 */
export function toolRecord(addonBuildCommit: string | undefined): Record<string, string | boolean> {
  const ts = buildInfo();
  return {
    name: 'esmm-bench',
    version: VERSION,
    gitCommit: ts.commit,
    dirty: ts.dirty,
    addonCommit: addonBuildCommit || 'unknown',
  };
}

/** One GPU as nvidia-smi reports it; a field the driver does not have is null. */
export type NvmlReading = Record<string, string | number | null>;

const NVML_FIELDS = [
  'index',
  'name',
  'pci.bus_id',
  'driver_version',
  'clocks.sm',
  'clocks.mem',
  'clocks.max.sm',
  'clocks.max.mem',
  'power.limit',
  'power.draw',
  'temperature.gpu',
  'clocks_event_reasons.active',
] as const;

function execText(cmd: string, args: string[]): Promise<string | null> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { timeout: NVIDIA_SMI_TIMEOUT_MS }, (err, stdout) => resolvePromise(err ? null : stdout));
  });
}

/**
 * Clocks, power limit and throttle reasons of every GPU via nvidia-smi; null when there is
 * no nvidia-smi or it fails (never an error: the run does not depend on it).
 */
export async function queryNvidiaSmi(): Promise<NvmlReading[] | null> {
  let fields: readonly string[] = NVML_FIELDS;
  let out = await execText('nvidia-smi', [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits']);
  if (out === null) {
    // Drivers before 530 call the throttle reasons by their older name.
    fields = NVML_FIELDS.map((f) => (f === 'clocks_event_reasons.active' ? 'clocks_throttle_reasons.active' : f));
    out = await execText('nvidia-smi', [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits']);
  }
  if (out === null) return null;
  const readings: NvmlReading[] = [];
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const values = line.split(',').map((v) => v.trim());
    const reading: NvmlReading = {};
    fields.forEach((field, i) => {
      const v = values[i];
      if (v === undefined || v === '' || /^\[?N\/A\]?$/i.test(v) || /not supported/i.test(v)) reading[field] = null;
      else if (/^-?\d+(\.\d+)?$/.test(v) && field !== 'driver_version') reading[field] = Number(v);
      else reading[field] = v;
    });
    readings.push(reading);
  }
  return readings;
}

export { sha256File } from '../weights/sha256-file.js';

/**
 * The sidecar of run n of a CSV: `<csv>.json` for the first run, `<csv>.run-<n>.json` for each
 * later (resumed) one, so no run's record is ever overwritten.
 */
export function sidecarPath(csvPath: string, run: number): string {
  return run === 1 ? `${csvPath}.json` : `${csvPath}.run-${run}.json`;
}

/** The first run number whose sidecar does not exist yet. */
export function nextRunNumber(csvPath: string): number {
  let run = 1;
  while (existsSync(sidecarPath(csvPath, run))) run++;
  return run;
}

/** Every timed sample of every row goes here, one JSON object a line, beside the CSV. */
export function samplesPath(csvPath: string): string {
  return `${csvPath}.samples.jsonl`;
}

/**
 * The samples file of a CSV as text: `<csv>.samples.jsonl`, or the same gzip-compressed
 * (`.samples.jsonl.gz`, as large result sets are kept in a repository); null when neither exists.
 */
export function readSamplesText(csvPath: string): string | null {
  const plain = samplesPath(csvPath);
  if (existsSync(plain)) return readFileSync(plain, 'utf8');
  const gz = `${plain}.gz`;
  return existsSync(gz) ? gunzipSync(readFileSync(gz)).toString('utf8') : null;
}
