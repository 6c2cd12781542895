import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';

import { UsageError } from '../errors.js';
import { type SlurmJobFiles, writeSlurmJob } from '../cluster/write-slurm-job.js';
import { CACHE_DIR_ENV } from '../patterns/pattern-cache.js';
import { addRunCommandOptions, addRunOptions, parseRunOptions } from './run.js';

/** Flags of `slurm` itself (with whether they take a value); everything else is the run's. */
const OWN_FLAGS: Record<string, boolean> = {
  '--shards': true,
  '--gpus-per-task': true,
  '--cpus-per-task': true,
  '--partition': true,
  '--time': true,
  '--out-dir': true,
  '--pattern-cache': true,
  '--hf-cache': true,
  '--sbatch-arg': true,
  '--submit': false,
};
/** Run flags the job sets for each shard itself. */
const SET_BY_JOB: Record<string, boolean> = { '--out': true, '--shard': true, '--resume': false, '--overwrite': false, '--no-progress': false };

export interface SlurmOptions {
  command: 'run' | 'hf';
  args: string[];
  out: string;
  own: Record<string, string[]>;
}

/** Splits `slurm [run|hf] <run arguments> <slurm flags>` into the run's arguments and slurm's own flags. */
export function splitSlurmArgs(argv: string[]): SlurmOptions {
  const words = [...argv];
  const command = words[0] === 'run' || words[0] === 'hf' ? (words.shift() as 'run' | 'hf') : 'run';
  const own: Record<string, string[]> = {};
  const args: string[] = [];
  let out = 'out/results.csv';
  for (let i = 0; i < words.length; i++) {
    const [flag, inline] = words[i].startsWith('--') && words[i].includes('=') ? [words[i].slice(0, words[i].indexOf('=')), words[i].slice(words[i].indexOf('=') + 1)] : [words[i], undefined];
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const v = words[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag in OWN_FLAGS) {
      (own[flag] ??= []).push(OWN_FLAGS[flag] ? takeValue() : 'true');
    } else if (flag in SET_BY_JOB) {
      const v = SET_BY_JOB[flag] ? takeValue() : undefined;
      if (flag === '--out' && v !== undefined) out = v;
    } else {
      args.push(words[i]);
    }
  }
  return { command, args, out, own };
}

/** Checks the run arguments as `run` would, so a typo fails here and not in every array task. */
function checkRunArgs(args: string[]): void {
  const probe = addRunCommandOptions(addRunOptions(new Command('run').argument('<path>')))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  let opts: Record<string, unknown> = {};
  probe.action((_path: string, o: Record<string, unknown>) => {
    opts = o;
  });
  try {
    probe.parse(args, { from: 'user' });
  } catch (err) {
    throw new UsageError(`run arguments: ${(err as Error).message.replace(/^error: /, '')}`);
  }
  parseRunOptions({ ...opts, out: 'x.csv' });
}

function intOf(own: Record<string, string[]>, flag: string, fallback: number): number {
  const v = own[flag]?.at(-1);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a non-negative integer, got '${v}'`);
  return n;
}

/** `esmm-bench slurm`: writes the job array, the merge job and the submit script; submits them with --submit. */
export async function slurmCommand(
  argv: string[],
  deps: { print?: (line: string) => void; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<SlurmJobFiles & { submitted?: string }> {
  const print = deps.print ?? ((line: string) => void process.stdout.write(line + '\n'));
  const env = deps.env ?? process.env;
  const cwd = deps.cwd ?? process.cwd();
  const o = splitSlurmArgs(argv);
  if (o.command === 'run') checkRunArgs(o.args);
  else if (o.args.length === 0) throw new UsageError('hf: no repository given');
  const shards = intOf(o.own, '--shards', 0);
  if (shards < 1) throw new UsageError('--shards <n> (n ≥ 1) is required');
  const outDir = resolve(cwd, o.own['--out-dir']?.at(-1) ?? 'slurm-job');
  const hfDefault = env.HF_HUB_CACHE ?? (env.HF_HOME ? join(env.HF_HOME, 'hub') : join(homedir(), '.cache', 'huggingface', 'hub'));
  const cpus = intOf(o.own, '--cpus-per-task', 0);
  const files = writeSlurmJob({
    command: o.command,
    args: o.args,
    out: o.out,
    shards,
    gpusPerTask: intOf(o.own, '--gpus-per-task', 1),
    ...(cpus > 0 ? { cpusPerTask: cpus } : {}),
    ...(o.own['--partition'] ? { partition: o.own['--partition'].at(-1)! } : {}),
    ...(o.own['--time'] ? { time: o.own['--time'].at(-1)! } : {}),
    sbatchArgs: o.own['--sbatch-arg'] ?? [],
    outDir,
    patternCache: resolve(cwd, o.own['--pattern-cache']?.at(-1) ?? env[CACHE_DIR_ENV] ?? join(outDir, 'cache', 'patterns')),
    hfCache: resolve(cwd, o.own['--hf-cache']?.at(-1) ?? hfDefault),
    node: process.execPath,
    cli: fileURLToPath(new URL('../cli.js', import.meta.url)),
    cwd,
  });
  print(`job array: ${files.arrayScript} (${shards} shards → ${join(outDir, 'parts')})`);
  print(`merge job: ${files.mergeScript} (→ ${resolve(cwd, o.out)})`);
  print(`submit:    ${files.submitScript}`);
  if (!o.own['--submit']) return files;
  const submitted = await new Promise<string>((resolvePromise, reject) => {
    execFile('bash', [files.submitScript], { env: env as NodeJS.ProcessEnv }, (err, stdout, stderr) => {
      if (err) reject(new Error(`sbatch failed: ${(stderr || err.message).trim().split('\n')[0]}`));
      else resolvePromise(stdout.trim());
    });
  });
  print(submitted);
  return { ...files, submitted };
}

export function registerSlurm(program: Command): void {
  program
    .command('slurm')
    .description('write (and with --submit, submit) a Slurm job array that runs a study in shards, and a merge job after it')
    .usage('[run|hf] <run arguments> --shards <n> [--gpus-per-task <g>] [--partition <p>] [--time <t>] [--out-dir <dir>] [--submit]')
    .argument('[arguments...]', 'the arguments of `run` (or `hf` when the first word is hf); --out is the merged CSV')
    .helpOption('-h, --help')
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText(
      'after',
      [
        '',
        'Slurm flags:',
        '  --shards <n>          array tasks, one shard of the points each (required)',
        '  --gpus-per-task <g>   GPUs per task (default 1; 0 for the cpu backend)',
        '  --cpus-per-task <c>   CPUs per task',
        '  --partition <p>       partition',
        '  --time <t>            time limit of each task',
        '  --sbatch-arg <x>      extra #SBATCH line, e.g. --sbatch-arg=--account=proj (repeatable)',
        '  --out-dir <dir>       scripts, logs and shard CSVs (default slurm-job)',
        '  --pattern-cache <dir> pattern cache on shared storage (default $ESMM_CACHE_DIR, else <out-dir>/cache/patterns)',
        '  --hf-cache <dir>      HF hub cache on shared storage (default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)',
        '  --submit              submit through sbatch',
      ].join('\n'),
    )
    .action(async (words: string[]) => {
      await slurmCommand(words);
    });
}
