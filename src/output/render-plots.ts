import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

import type { CsvRecord } from './result-csv.js';

export interface Plot {
  name: string;
  svg: string;
  png: Uint8Array;
}

const BASELINES = new Set(['cublas', 'reference']);
/** Shipped with the package so PNGs have their text on machines without system fonts. */
const FONT_FAMILY = 'DejaVu Sans';

function fontFiles(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return [join(dir, 'DejaVuSans.ttf'), join(dir, 'DejaVuSans-Bold.ttf')];
}

function points(records: CsvRecord[]): Record<string, string | number | null>[] {
  const out: Record<string, string | number | null>[] = [];
  for (const r of records) {
    if (r.status !== 'ok' || BASELINES.has(r.kernel) || r.speedup_compute === '' || r.block_sparsity === '') continue;
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
      block_sparsity: Number(r.block_sparsity),
      element_sparsity: r.element_sparsity === '' ? null : Number(r.element_sparsity),
      speedup_compute: Number(r.speedup_compute),
      speedup_total: r.speedup_total === '' ? null : Number(r.speedup_total),
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

/** The report's plots: speedup vs 8×32 block sparsity, and median speedup per layer. */
export async function renderPlots(records: CsvRecord[], backendNote: string): Promise<Plot[]> {
  const values = points(records);
  if (values.length === 0) return [];
  const scatter: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Compute speedup vs 8×32 block sparsity of B', subtitle: backendNote },
    width: 480,
    height: 320,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x: { field: 'block_sparsity', type: 'quantitative', title: 'block sparsity (fraction of zero 8×32 blocks)', scale: { domain: [0, 1] } },
          y: { field: 'speedup_compute', type: 'quantitative', title: 'speedup (compute) vs baseline' },
          color: { field: 'sparsity', type: 'nominal', title: 'sparsity label' },
          shape: { field: 'kernel', type: 'nominal' },
          tooltip: [{ field: 'layer' }, { field: 'm' }, { field: 'speedup_total' }],
        },
      },
      // Parity with the baseline.
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
      y: { aggregate: 'median', field: 'speedup_compute', type: 'quantitative', title: 'median speedup (compute)' },
      color: { field: 'sparsity', type: 'nominal', title: 'sparsity label' },
    },
  };
  const plots: Plot[] = [];
  for (const [name, spec] of [
    ['speedup-vs-block-sparsity', scatter],
    ['speedup-per-layer', perLayer],
  ] as const) {
    plots.push({ name, ...(await render(spec)) });
  }
  return plots;
}
