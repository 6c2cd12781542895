import { existsSync, readFileSync } from 'node:fs';

import { sidecarPath } from './run-metadata.js';
import type { CsvRecord } from './result-csv.js';

/** The settings that make rows of one CSV comparable; a resume must keep every one of them. */
export interface RunSettings {
  seed: number;
  runs: number;
  warmup: number;
  l2: string;
  orientation: string;
  kernels: string[];
  backend: string;
  device: number;
  /** sha256 of the --labels file, or null without one. */
  labelRules: string | null;
  /** The partition this run executes, `i/n` (`0/1` unsharded). */
  shard: string;
}

const SETTING_FLAGS: Record<keyof RunSettings, string> = {
  seed: '--seed',
  runs: '--runs',
  warmup: '--warmup',
  l2: '--l2',
  orientation: '--orientation',
  kernels: '--kernels',
  backend: '--backend',
  device: '--device',
  labelRules: '--labels',
  shard: '--shard',
};

function show(v: unknown): string {
  if (v === null || v === undefined) return 'none';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

/** The settings of the latest run of a CSV: from its newest sidecar, else from its rows. */
function earlierSettings(csvPath: string, existing: CsvRecord[]): Partial<RunSettings> | null {
  for (let run = 1, last: string | null = null; ; run++) {
    const p = sidecarPath(csvPath, run);
    if (existsSync(p)) {
      last = p;
      continue;
    }
    if (last !== null) {
      try {
        const record = JSON.parse(readFileSync(last, 'utf8')) as { params?: Record<string, unknown>; shard?: { index?: unknown; count?: unknown } };
        const params = record.params ?? {};
        const shard = record.shard;
        return {
          ...(shard && typeof shard.index === 'number' && typeof shard.count === 'number' && { shard: `${shard.index}/${shard.count}` }),
          ...(typeof params.seed === 'number' && { seed: params.seed }),
          ...(typeof params.runs === 'number' && { runs: params.runs }),
          ...(typeof params.warmup === 'number' && { warmup: params.warmup }),
          ...(typeof params.l2 === 'string' && { l2: params.l2 }),
          ...(typeof params.orientation === 'string' && { orientation: params.orientation }),
          ...(Array.isArray(params.kernels) && { kernels: params.kernels as string[] }),
          ...(typeof params.backend === 'string' && { backend: params.backend }),
          ...(typeof params.device === 'number' && { device: params.device }),
          labelRules: typeof params.labelRules === 'string' ? params.labelRules : null,
        };
      } catch {
        // An unreadable record: fall back to the rows.
      }
    }
    break;
  }
  const first = existing.find((r) => r.status === 'ok') ?? existing[0];
  if (!first) return null;
  const n = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  const out: Partial<RunSettings> = {};
  if (n(first.seed) !== undefined) out.seed = n(first.seed)!;
  if (n(first.runs) !== undefined) out.runs = n(first.runs)!;
  if (n(first.warmup) !== undefined) out.warmup = n(first.warmup)!;
  if (first.l2) out.l2 = first.l2;
  if (first.orientation) out.orientation = first.orientation;
  if (first.backend) out.backend = first.backend;
  return out;
}

/**
 * What differs between a resume's settings and those of the run it continues, one
 * "--flag was → now" entry each; empty when the rows can be mixed.
 */
export function resumeDifferences(csvPath: string, existing: CsvRecord[], now: RunSettings): string[] {
  const before = earlierSettings(csvPath, existing);
  if (before === null) return [];
  const diffs: string[] = [];
  for (const key of Object.keys(SETTING_FLAGS) as (keyof RunSettings)[]) {
    if (!(key in before)) continue;
    const was = show(before[key]);
    const is = show(now[key]);
    if (was !== is) diffs.push(`${SETTING_FLAGS[key]} ${was} → ${is}`);
  }
  return diffs;
}
