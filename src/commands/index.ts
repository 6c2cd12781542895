import type { Command } from 'commander';

/**
 * Every command, one file each beside this one, loaded only when it runs: the modules behind
 * `run` (zod, the hub client, the pipeline) cost more start-up time than node itself, and
 * `--help` or `doctor` need none of them. `summary` is what the top-level help lists.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'scan', summary: 'list every 2-D float tensor with its element and 8×32 block sparsity', load: async () => (await import('./scan.js')).registerScan },
  { name: 'run', summary: 'benchmark every 2-D tensor of a weight tree (or file) × M × kernel into a CSV', load: async () => (await import('./run.js')).registerRun },
  { name: 'hf', summary: 'benchmark the linear layers of a Hugging Face checkpoint (fetches only the shards it needs)', load: async () => (await import('./hf.js')).registerHf },
  { name: 'cache', summary: 'compute and store the B sparsity patterns of every 2-D tensor (reused when unchanged)', load: async () => (await import('./cache.js')).registerCache },
  { name: 'capture', summary: 'run a checkpoint\'s own float32 forward pass and dump the input of every linear layer', load: async () => (await import('./capture.js')).registerCapture },
  { name: 'sparsify', summary: 'sparsify an activation dump (native, teal:<s>, block:<s>) and measure its quality cost', load: async () => (await import('./sparsify.js')).registerSparsify },
  { name: 'compare', summary: 'point-by-point FAST/SLOW/SAME verdicts between two result CSVs, beyond both runs\' noise', load: async () => (await import('./compare.js')).registerCompare },
  { name: 'reproduce', summary: 're-run a run record\'s exact command with its weight files found by sha256, then compare', load: async () => (await import('./reproduce.js')).registerReproduce },
  { name: 'merge', summary: 'merge result CSVs of one study (e.g. the shards of a run) into one CSV, samples file and run record', load: async () => (await import('./merge.js')).registerMerge },
  { name: 'slurm', summary: 'write (and with --submit, submit) a Slurm job array that runs a study in shards, and a merge job after it', load: async () => (await import('./slurm.js')).registerSlurm },
  { name: 'sweep', summary: 'synthetic block-sparsity sweep: ESMM vs the baseline at given sizes, densities and modes', load: async () => (await import('./sweep.js')).registerSweep },
  { name: 'report', summary: 'summarise a result CSV per label group (markdown) and plot speedups (SVG, PNG)', load: async () => (await import('./report.js')).registerReport },
  { name: 'default', summary: 'benchmark a generated sample tree and write CSV, sidecar and report under out/', load: async () => (await import('./default.js')).registerDefault },
  { name: 'doctor', summary: 'show the native addon, its backends, CUDA/cuBLAS versions and the GPUs it sees', load: async () => (await import('./doctor.js')).registerDoctor },
];

/**
 * Registers the command that argv names, loading only its module (also for `help <command>`);
 * without one, lists every command by its summary for the top-level help.
 */
export async function registerCommands(program: Command, argv: string[]): Promise<void> {
  const args = argv.slice(2);
  const named = args[0] === 'help' ? args[1] : args[0];
  const entry = COMMANDS.find((c) => c.name === named);
  if (entry) {
    (await entry.load())(program);
    return;
  }
  for (const c of COMMANDS) program.command(c.name).description(c.summary);
}
