import { basename, dirname } from 'node:path';

import type { CsvRecord } from './result-csv.js';

/** The column the integrator's runner writes: ESMM against the faster float32-accurate dense baseline. */
export const BEST_DENSE_COLUMN = 'speedup_best_dense_compute';
/** Labels that differ from layer to layer of one checkpoint, so they do not split a scenario. */
const PER_LAYER_LABELS = new Set(['layer', 'module', 'a_tile_density', 'a_element_sparsity']);

/** One layer's ESMM time and speedup against dense at one M. */
export interface BreakEvenPoint {
  m: number;
  esmmMs: number;
  denseMs: number;
  speedup: number;
}

export interface LayerBreakEven {
  scenario: string;
  layer: string;
  points: BreakEvenPoint[];
  /**
   * The M where ESMM stops beating dense: interpolated (in log M) between the last measured M
   * with speedup ≥ 1 and the next one (from which on every measured M is slower). null with
   * `beyond` when it does not stop in the measured range ('above': faster at the largest M;
   * 'below': slower at every M).
   */
  breakEvenM: number | null;
  beyond?: 'above' | 'below';
}

export interface ProjectionRow {
  scenario: string;
  phase: 'decode' | 'prefill';
  m: number;
  layers: number;
  /** Layers of the scenario without a time at this M (not measured and not between two measured Ms). */
  missing: number;
  denseMs: number;
  esmmMs: number;
}

export interface BreakEvenResult {
  /** Which speedup column the numbers come from. */
  speedupColumn: string;
  layers: LayerBreakEven[];
  projection: ProjectionRow[];
}

function labelsOf(r: CsvRecord): Record<string, string> {
  try {
    return JSON.parse(r.labels_json || '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

/** A pruned tree's file: one layer per file, labelled with its pruner and its layer. */
function isTreeLayer(labels: Record<string, string>): boolean {
  return labels.layer !== undefined && labels.pruner !== undefined;
}

/**
 * The model a row's layer belongs to: a checkpoint's shards are one model, and so is a pruned
 * tree's folder; any other file is its own.
 */
function modelOf(r: CsvRecord, labels: Record<string, string>): string {
  const file = r.source_file;
  return isTreeLayer(labels) || /-\d+-of-\d+\.[a-z]+$/.test(file) ? dirname(file) : file;
}

/** The layer within its model: a tree's files all hold a tensor named like `weight`, so there the layer label names it. */
function layerOf(r: CsvRecord, labels: Record<string, string>): string {
  return isTreeLayer(labels) ? labels.layer! : r.tensor;
}

/** The scenario a row belongs to: the model, where A came from, and every label that is not per layer. */
function scenarioOf(r: CsvRecord, all: Record<string, string>): string {
  const labels = Object.entries(all)
    .filter(([k]) => !PER_LAYER_LABELS.has(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  const aKind = (r.a_source ?? '').split(':')[0] || 'random';
  return [basename(modelOf(r, all)), `a=${aKind === 'random' || aKind === 'captured' || aKind === 'control-random' ? aKind : 'file'}`, ...labels].join(' ');
}

/** Time at m by linear interpolation between measured Ms; undefined outside the measured range. */
function timeAt(points: BreakEvenPoint[], m: number, pick: (p: BreakEvenPoint) => number): number | undefined {
  const exact = points.find((p) => p.m === m);
  if (exact) return pick(exact);
  const lo = [...points].reverse().find((p) => p.m < m);
  const hi = points.find((p) => p.m > m);
  if (!lo || !hi) return undefined;
  return pick(lo) + ((pick(hi) - pick(lo)) * (m - lo.m)) / (hi.m - lo.m);
}

/**
 * Per layer, the M where ESMM stops beating the best dense float32-accurate baseline, and a
 * model-level projection: a decode step (M = decodeM) and a prefill of N tokens (M = N) summed
 * over every linear layer of each scenario, dense against ESMM. Dense time is ESMM time ×
 * speedup, so it is the baseline of the same call.
 */
export function breakEven(records: CsvRecord[], opts: { decodeM?: number; prefill?: number } = {}): BreakEvenResult {
  const esmm = records.filter((r) => r.status === 'ok' && r.kernel === 'esmm');
  const hasBest = esmm.some((r) => (r[BEST_DENSE_COLUMN] ?? '') !== '');
  const column = hasBest ? BEST_DENSE_COLUMN : 'speedup_compute';
  const byLayer = new Map<string, { scenario: string; layer: string; points: BreakEvenPoint[] }>();
  for (const r of esmm) {
    const speedup = Number(r[column]);
    const esmmMs = Number(r.compute_ms_median);
    const m = Number(r.m);
    if (!(speedup > 0) || !(esmmMs > 0) || !(m > 0)) continue;
    const labels = labelsOf(r);
    const scenario = scenarioOf(r, labels);
    const layer = layerOf(r, labels);
    const key = `${scenario}\0${layer}`;
    const entry = byLayer.get(key) ?? { scenario, layer, points: [] };
    // A repeated point (another run of the same M) keeps the first.
    if (!entry.points.some((p) => p.m === m)) entry.points.push({ m, esmmMs, denseMs: esmmMs * speedup, speedup });
    byLayer.set(key, entry);
  }

  const layers: LayerBreakEven[] = [];
  for (const { scenario, layer, points } of byLayer.values()) {
    points.sort((a, b) => a.m - b.m);
    // The last M where ESMM still wins: from the next measured M on it never does again.
    let lastFast = -1;
    points.forEach((p, i) => {
      if (p.speedup >= 1) lastFast = i;
    });
    const row: LayerBreakEven = { scenario, layer, points, breakEvenM: null };
    if (lastFast === points.length - 1) row.beyond = 'above';
    else if (lastFast === -1) row.beyond = 'below';
    else {
      const a = points[lastFast];
      const b = points[lastFast + 1];
      // speedup crosses 1 between a and b: interpolate log M on log speedup.
      const f = Math.log(a.speedup) / (Math.log(a.speedup) - Math.log(b.speedup));
      row.breakEvenM = Math.exp(Math.log(a.m) + f * (Math.log(b.m) - Math.log(a.m)));
    }
    layers.push(row);
  }
  layers.sort((x, y) => x.scenario.localeCompare(y.scenario) || x.layer.localeCompare(y.layer, 'en', { numeric: true }));

  const projection: ProjectionRow[] = [];
  const scenarios = [...new Set(layers.map((l) => l.scenario))];
  for (const scenario of scenarios) {
    const ls = layers.filter((l) => l.scenario === scenario);
    const allMs = ls.flatMap((l) => l.points.map((p) => p.m));
    const phases: Array<['decode' | 'prefill', number]> = [
      ['decode', opts.decodeM ?? Math.min(...allMs)],
      ['prefill', opts.prefill ?? Math.max(...allMs)],
    ];
    for (const [phase, m] of phases) {
      let denseMs = 0;
      let esmmMs = 0;
      let missing = 0;
      for (const l of ls) {
        const d = timeAt(l.points, m, (p) => p.denseMs);
        const e = timeAt(l.points, m, (p) => p.esmmMs);
        if (d === undefined || e === undefined) {
          missing++;
          continue;
        }
        denseMs += d;
        esmmMs += e;
      }
      projection.push({ scenario, phase, m, layers: ls.length, missing, denseMs, esmmMs });
    }
  }
  return { speedupColumn: column, layers, projection };
}
