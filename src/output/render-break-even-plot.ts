import type { TopLevelSpec } from 'vega-lite';

import type { BreakEvenResult } from './break-even.js';
import { type Plot, render } from './render-plots.js';

/** Speedup against M per layer (log M), one colour per scenario, with the parity line the break-even crosses. */
export async function renderBreakEvenPlot(r: BreakEvenResult, backendNote: string): Promise<Plot | null> {
  const values = r.layers.flatMap((l) => l.points.map((p) => ({ scenario: l.scenario, layer: l.layer, m: p.m, speedup: p.speedup })));
  if (values.length === 0) return null;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'ESMM speedup against dense as M grows, per layer', subtitle: `${r.speedupColumn}; ${backendNote}` },
    width: 520,
    height: 320,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true, opacity: 0.7 },
        encoding: {
          x: { field: 'm', type: 'quantitative', title: 'M (tokens)', scale: { type: 'log' } },
          y: { field: 'speedup', type: 'quantitative', title: 'speedup (compute) vs dense', scale: { type: 'log' } },
          color: { field: 'scenario', type: 'nominal', legend: { orient: 'bottom', columns: 1, labelLimit: 600 } },
          detail: { field: 'layer', type: 'nominal' },
          tooltip: [{ field: 'layer' }, { field: 'm' }, { field: 'speedup' }],
        },
      },
      { mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { datum: 1 } } },
    ],
  };
  return { name: 'break-even', ...(await render(spec)) };
}
