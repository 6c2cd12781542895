import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { UsageError } from '../errors.js';

export interface SlurmJobParams {
  /** `run` or `hf`. */
  command: 'run' | 'hf';
  /** The command's own arguments (path or repo, flags), without --out/--shard/--resume/--overwrite. */
  args: string[];
  /** The merged result CSV. */
  out: string;
  shards: number;
  /** GPUs each array task asks for (0: none, e.g. the cpu backend). */
  gpusPerTask: number;
  cpusPerTask?: number;
  partition?: string;
  time?: string;
  /** Extra `#SBATCH` lines, e.g. `--account=proj`. */
  sbatchArgs?: string[];
  /** Scripts, logs and shard CSVs go here. */
  outDir: string;
  /** Pattern cache on shared storage (ESMM_CACHE_DIR of every task). */
  patternCache: string;
  /** Hugging Face hub cache on shared storage (HF_HUB_CACHE of every task). */
  hfCache: string;
  /** The node binary and the CLI script the tasks run (same paths on every node: shared storage). */
  node: string;
  cli: string;
  /** Folder the tasks start in (relative paths of `args` are relative to it). */
  cwd: string;
}

export interface SlurmJobFiles {
  arrayScript: string;
  mergeScript: string;
  submitScript: string;
  /** Shard CSVs, in shard order. */
  parts: string[];
}

/** A word for bash, single-quoted where it needs to be. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function sbatchLine(flag: string): string {
  if (/[\r\n]/.test(flag)) throw new UsageError(`--sbatch-arg: '${flag}' holds a line break`);
  return `#SBATCH ${flag}`;
}

/**
 * Writes a Slurm job array (one task per shard of the run, each writing its own CSV), a merge
 * job and a submit script that submits the merge with `--dependency=afterok:<array>`. Exit
 * status 1 of a shard (some points failed or were skipped: their rows say why) still counts
 * as done, so the merge runs; anything else fails the task and the merge never starts.
 */
export function writeSlurmJob(p: SlurmJobParams): SlurmJobFiles {
  if (!Number.isInteger(p.shards) || p.shards < 1) throw new UsageError(`--shards must be an integer ≥ 1, got ${p.shards}`);
  if (!Number.isInteger(p.gpusPerTask) || p.gpusPerTask < 0) throw new UsageError(`--gpus-per-task must be an integer ≥ 0, got ${p.gpusPerTask}`);
  const outDir = resolve(p.outDir);
  const logs = join(outDir, 'logs');
  const partsDir = join(outDir, 'parts');
  mkdirSync(logs, { recursive: true });
  mkdirSync(partsDir, { recursive: true });
  mkdirSync(p.patternCache, { recursive: true });
  const parts = Array.from({ length: p.shards }, (_, i) => join(partsDir, `shard-${i}.csv`));
  const q = shellQuote;
  const common = (name: string, log: string): string[] => [
    '#!/bin/bash',
    `#SBATCH --job-name=${name}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --output=${log}`,
    ...(p.partition ? [`#SBATCH --partition=${p.partition}`] : []),
    ...(p.time ? [`#SBATCH --time=${p.time}`] : []),
    ...(p.sbatchArgs ?? []).map(sbatchLine),
  ];
  const env = ['set -uo pipefail', `export ESMM_CACHE_DIR=${q(p.patternCache)}`, `export HF_HUB_CACHE=${q(p.hfCache)}`, `cd ${q(p.cwd)}`];

  // Several GPUs per task: one run over all of them (the task sees only its own).
  const devicesArgs = p.gpusPerTask > 1 && !p.args.some((a) => a === '--devices' || a.startsWith('--devices=')) ? ['--devices', 'all'] : [];
  const array = [
    ...common('esmm-bench', join(logs, 'shard-%a.out')),
    `#SBATCH --array=0-${p.shards - 1}`,
    ...(p.cpusPerTask ? [`#SBATCH --cpus-per-task=${p.cpusPerTask}`] : []),
    ...(p.gpusPerTask > 0 ? [`#SBATCH --gpus-per-task=${p.gpusPerTask}`] : []),
    '# One shard of the run per array task; a requeued task resumes its own CSV.',
    ...env,
    'shard=${SLURM_ARRAY_TASK_ID:?not an array task}',
    [q(p.node), q(p.cli), p.command, ...p.args.map(q), ...devicesArgs, '--shard', `"$shard/${p.shards}"`, '--out', `${q(partsDir)}/shard-"$shard".csv`, '--resume', '--no-progress'].join(' '),
    'status=$?',
    '# 1: some points failed or were skipped (their rows say why); the merge still runs.',
    'if [ "$status" -gt 1 ]; then exit "$status"; fi',
    '',
  ];
  const merge = [
    ...common('esmm-bench-merge', join(logs, 'merge.out')),
    ...env,
    [q(p.node), q(p.cli), 'merge', ...parts.map(q), '--out', q(resolve(p.cwd, p.out)), '--overwrite'].join(' '),
    'status=$?',
    'if [ "$status" -gt 1 ]; then exit "$status"; fi',
    '',
  ];
  const submit = [
    '#!/bin/bash',
    '# Submits the shard array, then the merge once every shard has finished (afterok).',
    'set -euo pipefail',
    'here="$(cd "$(dirname "$0")" && pwd)"',
    'array=$(sbatch --parsable "$here/array.sbatch")',
    'array=${array%%;*}',
    'merge=$(sbatch --parsable --dependency=afterok:"$array" "$here/merge.sbatch")',
    'merge=${merge%%;*}',
    `echo "array job $array (${p.shards} shards), merge job $merge (afterok:$array) → ${resolve(p.cwd, p.out).replace(/["$`\\]/g, '\\$&')}"`,
    '',
  ];
  const files: SlurmJobFiles = {
    arrayScript: join(outDir, 'array.sbatch'),
    mergeScript: join(outDir, 'merge.sbatch'),
    submitScript: join(outDir, 'submit.sh'),
    parts,
  };
  writeFileSync(files.arrayScript, array.join('\n'));
  writeFileSync(files.mergeScript, merge.join('\n'));
  writeFileSync(files.submitScript, submit.join('\n'));
  chmodSync(files.submitScript, 0o755);
  return files;
}
