import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { breakEven } from './break-even.js';
import { formatBreakEven } from './format-break-even.js';
import { readResultCsv } from './result-csv.js';
import type { WrittenReport } from './write-report.js';

/** Reads a result CSV and writes `break-even.md` (and the break-even plot) into outDir. */
export async function writeBreakEvenReport(params: { csv: string; outDir: string; plots?: boolean; decodeM?: number; prefill?: number }): Promise<WrittenReport> {
  const records = readResultCsv(params.csv);
  const result = breakEven(records, { ...(params.decodeM ? { decodeM: params.decodeM } : {}), ...(params.prefill ? { prefill: params.prefill } : {}) });
  const backends = new Set(records.map((r) => r.backend));
  const note = backends.has('cpu') ? 'cpu backend: CPU timings, not GPU' : [...new Set(records.map((r) => r.device))].join(', ');
  const markdown = formatBreakEven(result, note);
  await mkdir(params.outDir, { recursive: true });
  const md = join(params.outDir, 'break-even.md');
  await writeFile(md, markdown);
  const files = [md];
  if (params.plots !== false) {
    const { renderBreakEvenPlot } = await import('./render-break-even-plot.js');
    const plot = await renderBreakEvenPlot(result, note);
    if (plot) {
      await writeFile(join(params.outDir, `${plot.name}.svg`), plot.svg);
      await writeFile(join(params.outDir, `${plot.name}.png`), plot.png);
      files.push(join(params.outDir, `${plot.name}.svg`), join(params.outDir, `${plot.name}.png`));
    }
  }
  return { markdown, files };
}
