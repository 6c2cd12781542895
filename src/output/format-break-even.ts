import type { BreakEvenResult } from './break-even.js';

const ms = (x: number): string => (x >= 1 ? x.toFixed(2) : x.toPrecision(3));

/** The break-even tables as markdown: per layer, then the model-level projection. */
export function formatBreakEven(r: BreakEvenResult, backendNote: string): string {
  const lines: string[] = [];
  const allMs = [...new Set(r.layers.flatMap((l) => l.points.map((p) => p.m)))].sort((a, b) => a - b);
  lines.push('# Break-even: where ESMM stops beating dense', '');
  lines.push(`Speedups from \`${r.speedupColumn}\`${r.speedupColumn === 'speedup_compute' ? ' (the backend baseline of the same call; no best-dense column in this CSV)' : ' (against the faster float32-accurate dense baseline)'}. ${backendNote}.`, '');
  lines.push('## Per layer', '');
  lines.push(`| scenario | layer | ${allMs.map((m) => `M=${m}`).join(' | ')} | break-even M |`);
  lines.push(`|---|---|${allMs.map(() => '---:').join('|')}|---:|`);
  for (const l of r.layers) {
    const cells = allMs.map((m) => {
      const p = l.points.find((q) => q.m === m);
      return p ? `${p.speedup.toFixed(2)}×` : '';
    });
    const maxM = l.points[l.points.length - 1].m;
    const minM = l.points[0].m;
    const be = l.breakEvenM !== null ? Math.round(l.breakEvenM).toString() : l.beyond === 'above' ? `> ${maxM}` : `< ${minM}`;
    lines.push(`| ${l.scenario} | ${l.layer} | ${cells.join(' | ')} | ${be} |`);
  }
  lines.push('', '## Model-level projection (sum over every linear layer)', '');
  lines.push('| scenario | phase | M | layers | dense ms | ESMM ms | speedup |');
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const p of r.projection) {
    const counted = p.layers - p.missing;
    const speed = p.esmmMs > 0 ? `${(p.denseMs / p.esmmMs).toFixed(2)}×` : '';
    lines.push(`| ${p.scenario} | ${p.phase} | ${p.m} | ${counted}${p.missing ? ` (${p.missing} without a time at this M)` : ''} | ${counted ? ms(p.denseMs) : ''} | ${counted ? ms(p.esmmMs) : ''} | ${counted ? speed : ''} |`);
  }
  lines.push('');
  return lines.join('\n');
}
