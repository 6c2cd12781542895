/**
 * Writes a generated, magnitude-pruned LLM-shaped weight tree in the research layout, e.g. the
 * 42-tensor tree (2 Llama-2-7B decoder layers × 3 sparsities, 2.3 GB BF16) used to measure the
 * pipeline's host-side overhead, or the whole 7B model's 224 linears at one sparsity (13 GB):
 *
 *   node dist/scripts/generate-sample-tree.js --out out/llm-tree --layers 2 --sparsities 0.5,0.75,0.9
 *   node dist/scripts/generate-sample-tree.js --out /tmp/llm7b --layers 32 --sparsities 0.5
 *
 * Defaults are Llama-2-7B's shapes (hidden 4096, intermediate 11008), BF16 files. Tensors are
 * made on `--jobs` worker threads (default: every core), one tensor at a time each (about
 * 0.45 GB per thread at 4096×11008), byte for byte the same as one thread makes them. A tree
 * already complete (its TREE.json says the same spec) is left as it is.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

import { SAMPLE_TREES, ensureSampleTree } from '../src/bench/sample-tree.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    hidden: { type: 'string', default: String(SAMPLE_TREES.cuda.hidden) },
    intermediate: { type: 'string', default: String(SAMPLE_TREES.cuda.intermediate) },
    layers: { type: 'string', default: '1' },
    sparsities: { type: 'string', default: SAMPLE_TREES.cuda.sparsities.join(',') },
    groups: { type: 'string', default: '16' },
    perms: { type: 'string', default: 'col' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: String(availableParallelism()) },
  },
});
const jobs = Number(values.jobs);
if (!values.out || !Number.isInteger(jobs) || jobs < 1) {
  process.stderr.write(
    'usage: generate-sample-tree.ts --out DIR [--hidden 4096] [--intermediate 11008] [--layers 1] [--sparsities 0.5,0.75,0.9] [--groups 16] [--perms col,row] [--seed 1] [--jobs N]\n',
  );
  process.exit(2);
}
const list = (s: string): number[] => s.split(',').map(Number);
const t0 = Date.now();
const seconds = (): string => ((Date.now() - t0) / 1000).toFixed(1);
const made = await ensureSampleTree(
  values.out,
  {
    hidden: Number(values.hidden),
    intermediate: Number(values.intermediate),
    layers: Number(values.layers),
    sparsities: list(values.sparsities),
    groups: list(values.groups),
    perms: values.perms.split(',') as Array<'col' | 'row'>,
    seed: Number(values.seed),
  },
  (line) => process.stderr.write(line + '\n'),
  { jobs, onTensor: (done, total, t) => process.stderr.write(`[${done}/${total}] ${t.name} ${t.rows}×${t.cols} (${seconds()} s)\n`) },
);
process.stdout.write(`${made ? `generated with ${jobs} thread(s)` : 'already present'}: ${values.out} (${seconds()} s)\n`);
