import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { buildReport } from './build-report.js';
import { readReportRecords } from './read-report-records.js';

export interface WrittenReport {
  markdown: string;
  files: string[];
}

/** Reads a result CSV (run, hf, sweep or merged) and writes `report.md` plus SVG and PNG plots into outDir. */
export async function writeReport(params: { csv: string; outDir: string; plots?: boolean }): Promise<WrittenReport> {
  const { records } = readReportRecords(params.csv);
  const { markdown } = buildReport(records, basename(params.csv));
  await mkdir(params.outDir, { recursive: true });
  const files: string[] = [];
  const md = join(params.outDir, 'report.md');
  await writeFile(md, markdown);
  files.push(md);
  if (params.plots !== false) {
    const backends = new Set(records.map((r) => r.backend));
    const note = backends.has('cpu') ? 'cpu backend: CPU timings, not GPU' : [...new Set(records.map((r) => r.device))].join(', ');
    // vega and resvg take seconds to load: only commands that plot pay for them.
    const { renderPlots } = await import('./render-plots.js');
    for (const plot of await renderPlots(records, note)) {
      const svg = join(params.outDir, `${plot.name}.svg`);
      const png = join(params.outDir, `${plot.name}.png`);
      await writeFile(svg, plot.svg);
      await writeFile(png, plot.png);
      files.push(svg, png);
    }
  }
  return { markdown, files };
}
