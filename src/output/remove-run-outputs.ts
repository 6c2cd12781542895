import { existsSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { samplesPath } from './run-metadata.js';

/** Removes a CSV with its sidecars and samples file (`run --overwrite` only). */
export function removeRunOutputs(csvPath: string): void {
  const dir = dirname(csvPath);
  const base = basename(csvPath);
  rmSync(csvPath, { force: true });
  rmSync(samplesPath(csvPath), { force: true });
  rmSync(`${csvPath}.json`, { force: true });
  if (!existsSync(dir)) return;
  const runSidecar = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.run-\\d+\\.json$`);
  for (const name of readdirSync(dir)) if (runSidecar.test(name)) rmSync(join(dir, name), { force: true });
}
