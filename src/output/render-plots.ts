import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

import { denseBaselineIds } from '../bench/kernel-roles.js';
import { kernelRegistry } from '../native/kernel-registry.js';
import type { CsvRecord } from './result-csv.js';

export interface Plot {
  name: string;
  svg: string;
  png: Uint8Array;
}

/** Shipped with the package so PNGs have their text on machines without system fonts. */
const FONT_FAMILY = 'DejaVu Sans';

function fontFiles(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return [join(dir, 'DejaVuSans.ttf'), join(dir, 'DejaVuSans-Bold.ttf')];
}

/**
 * What the plots show: the speedup against the best dense baseline of each call against the share
 * of k ESMM multiplied — or, for CSVs written before those columns, against SGEMM and the 8×32
 * block sparsity.
 */
function axes(records: CsvRecord[]): { speedup: 'speedup_best_dense_compute' | 'speedup_compute'; x: 'k_density' | 'block_sparsity' } {
  const has = (col: string): boolean => records.some((r) => r.status === 'ok' && (r[col] ?? '') !== '');
  return { speedup: has('speedup_best_dense_compute') ? 'speedup_best_dense_compute' : 'speedup_compute', x: has('k_density') ? 'k_density' : 'block_sparsity' };
}

function points(records: CsvRecord[], ax: ReturnType<typeof axes>): Record<string, string | number | null>[] {
  const out: Record<string, string | number | null>[] = [];
  const baselines = denseBaselineIds(kernelRegistry());
  for (const r of records) {
    if (r.status !== 'ok' || baselines.has(r.kernel) || (r[ax.speedup] ?? '') === '' || (r[ax.x] ?? '') === '') continue;
    let labels: Record<string, string> = {};
    try {
      labels = JSON.parse(r.labels_json || '{}') as Record<string, string>;
    } catch {
      labels = {};
    }
    out.push({
      kernel: r.kernel,
      m: Number(r.m),
      layer: labels.layer ?? r.tensor,
      sparsity: labels.sparsity ?? '',
      group: [labels.pruner, labels.group ? `grp_${labels.group}` : undefined, labels.perm].filter(Boolean).join('/'),
      x: Number(r[ax.x]),
      element_sparsity: r.element_sparsity === '' ? null : Number(r.element_sparsity),
      speedup: Number(r[ax.speedup]),
      speedup_sgemm: r.speedup_compute === '' ? null : Number(r.speedup_compute),
    });
  }
  return out;
}

/** A vega-lite spec as SVG and PNG, with the packaged font. */
export async function render(spec: TopLevelSpec): Promise<{ svg: string; png: Uint8Array }> {
  const compiled = vegaLite.compile({ ...spec, config: { font: FONT_FAMILY } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  })
    .render()
    .asPng();
  return { svg, png };
}

/** The report's plots: speedup vs the share of k multiplied (k density), and median speedup per layer. */
export async function renderPlots(records: CsvRecord[], backendNote: string): Promise<Plot[]> {
  const ax = axes(records);
  const values = points(records, ax);
  if (values.length === 0) return [];
  const vs = ax.speedup === 'speedup_best_dense_compute' ? 'best dense baseline' : 'SGEMM';
  const xTitle = ax.x === 'k_density' ? 'k density (share of k multiplied, per 32×32 tile pair)' : 'block sparsity (fraction of zero 8×32 blocks)';
  const scatter: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: ax.x === 'k_density' ? `Compute speedup vs ${vs} against k density` : `Compute speedup vs ${vs} against 8×32 block sparsity of B`, subtitle: backendNote },
    width: 480,
    height: 320,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: xTitle, scale: { domain: [0, 1] } },
          y: { field: 'speedup', type: 'quantitative', title: `speedup (compute) vs ${vs}` },
          color: { field: 'sparsity', type: 'nominal', title: 'sparsity label' },
          shape: { field: 'kernel', type: 'nominal' },
          tooltip: [{ field: 'layer' }, { field: 'm' }, { field: 'speedup_sgemm', title: 'vs SGEMM' }],
        },
      },
      // Parity with the dense baseline.
      { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { datum: 1 } } },
    ],
  };
  const perLayer: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Median compute speedup per layer', subtitle: backendNote },
    width: 480,
    height: 320,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'layer', type: 'nominal', title: 'layer', axis: { labelAngle: -45, labelLimit: 400 } },
      xOffset: { field: 'sparsity', type: 'nominal' },
      y: { aggregate: 'median', field: 'speedup', type: 'quantitative', title: `median speedup (compute) vs ${vs}` },
      color: { field: 'sparsity', type: 'nominal', title: 'sparsity label' },
    },
  };
  const plots: Plot[] = [];
  for (const [name, spec] of [
    [ax.x === 'k_density' ? 'speedup-vs-k-density' : 'speedup-vs-block-sparsity', scatter],
    ['speedup-per-layer', perLayer],
  ] as const) {
    plots.push({ name, ...(await render(spec)) });
  }
  return plots;
}
