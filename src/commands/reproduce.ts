import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

import { Command } from 'commander';
import { z } from 'zod';

import { EsmmError, UsageError } from '../errors.js';
import type { NativeBinding } from '../native/types.js';
import { type Comparison, compareResults } from '../output/compare-results.js';
import { DEFAULT_COMPARE_THRESHOLD } from '../output/noise-verdict.js';
import { removeRunOutputs } from '../output/remove-run-outputs.js';
import { locateBySha256 } from '../weights/locate-by-sha256.js';
import { type CompareIo, addCompareOptions, emitComparison, parseThreshold, regressions } from './compare.js';
import { printSummary, registerRun, runCommand } from './run.js';
import { registerSweep, sweepCommand } from './sweep.js';

/** The commands whose records can be re-run: their argv alone (plus the weights) defines the run. */
const REPRODUCIBLE = ['run', 'sweep'] as const;

const RecordSchema = z.object({
  argv: z.array(z.string()).min(3),
  run: z.number().int().min(1).default(1),
  params: z.object({ backend: z.enum(['cpu', 'cuda']) }).passthrough(),
  tensorFiles: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).optional(),
});

const ReproduceOptionsSchema = z.object({
  weights: z.string().min(1).optional(),
  out: z.string().min(1),
  overwrite: z.boolean().optional(),
});

/** The CSV a sidecar belongs to: `<csv>.json` (run 1) or `<csv>.run-<n>.json`. */
export function csvOfRecord(recordPath: string): string {
  return recordPath.replace(/(\.run-\d+)?\.json$/, '');
}

/** The recorded command line parsed by the command's own flag definitions: its positional arguments and options. */
async function parseRecordedArgv(argv: string[]): Promise<{ command: string; args: string[]; opts: Record<string, unknown> }> {
  const program = new Command('esmm-bench').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerRun(program);
  registerSweep(program);
  let captured: { command: string; args: string[]; opts: Record<string, unknown> } | null = null;
  for (const cmd of program.commands) {
    cmd.action((...a: unknown[]) => {
      const c = a[a.length - 1] as Command;
      captured = { command: c.name(), args: a.slice(0, -2) as string[], opts: a[a.length - 2] as Record<string, unknown> };
    });
  }
  try {
    await program.parseAsync(argv.slice(2), { from: 'user' });
  } catch (err) {
    throw new UsageError(`the recorded command line cannot be parsed: ${(err as Error).message.split('\n')[0]}`);
  }
  if (captured === null) throw new UsageError('the recorded command line names no command');
  return captured;
}

/**
 * A folder of links to the found files at the names the record gives them (relative to the
 * recorded root), so the re-run walks the same tree with the same path labels.
 */
function linkTree(dir: string, found: Record<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, path] of Object.entries(found)) {
    const link = join(dir, name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(resolve(path), link);
  }
}

export interface ReproduceResult {
  csvPath: string;
  comparison: Comparison;
  /** Rows of the re-run that are not ok. */
  notOk: number;
}

/** `esmm-bench reproduce RECORD.json --weights DIR --out NEW.csv`: re-runs a record's command and compares. */
export async function reproduceCommand(
  recordPath: string,
  raw: Record<string, unknown>,
  io: CompareIo & { log: (line: string) => void },
  deps: { native?: NativeBinding } = {},
): Promise<ReproduceResult> {
  const parsedOpts = ReproduceOptionsSchema.safeParse(raw);
  if (!parsedOpts.success) throw new UsageError(parsedOpts.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  const opts = parsedOpts.data;
  const threshold = typeof raw.threshold === 'string' ? parseThreshold(raw.threshold) : DEFAULT_COMPARE_THRESHOLD;
  if (!existsSync(recordPath)) throw new UsageError(`no such run record: ${recordPath}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(recordPath, 'utf8'));
  } catch {
    throw new UsageError(`${recordPath}: not a JSON run record`);
  }
  const rec = RecordSchema.safeParse(json);
  if (!rec.success) throw new UsageError(`${recordPath}: not an esmm-bench run record (${rec.error.issues[0]?.path.join('.')}: ${rec.error.issues[0]?.message})`);
  const record = rec.data;
  const baseCsv = csvOfRecord(recordPath);
  if (!existsSync(baseCsv)) throw new UsageError(`${recordPath}: its CSV ${baseCsv} is missing`);
  const { command, args, opts: recorded } = await parseRecordedArgv(record.argv);
  if (!(REPRODUCIBLE as readonly string[]).includes(command)) throw new UsageError(`${recordPath}: a '${command}' run cannot be reproduced (only ${REPRODUCIBLE.join(', ')})`);

  const out = resolve(opts.out);
  if (existsSync(out) && statSync(out).size > 0) {
    if (!opts.overwrite) throw new UsageError(`${opts.out} already exists: pass --overwrite to replace it, or choose another --out`);
    removeRunOutputs(out);
  }
  mkdirSync(dirname(out), { recursive: true });
  // Same backend as the record: GPU numbers are never reproduced on the CPU, or the reverse.
  const common: Record<string, unknown> = { ...recorded, backend: record.params.backend, out, resume: false, overwrite: false };

  let notOk = 0;
  let newRun: number;
  if (command === 'run') {
    if (recorded.aDir !== undefined) throw new EsmmError('UNSUPPORTED', `${recordPath}: a run with --a-dir cannot be reproduced (the record holds no hashes of the A tensors)`);
    if (opts.weights === undefined) throw new UsageError('--weights <dir> is required to reproduce a weight run');
    const files = record.tensorFiles ?? {};
    if (Object.keys(files).length === 0) throw new UsageError(`${recordPath}: the record names no tensor files`);
    const root = args[0];
    const names: Record<string, string> = {};
    for (const [file, sha] of Object.entries(files)) {
      const name = file === root ? basename(file) : relative(root, file);
      if (name === '' || name.startsWith('..') || isAbsolute(name)) throw new UsageError(`${recordPath}: tensor file ${file} is not under the recorded root ${root}`);
      names[name] = sha;
    }
    const found = await locateBySha256(opts.weights, names);
    const tree = `${out}.weights`;
    linkTree(tree, found);
    const rootIsFile = Object.keys(files).length === 1 && Object.keys(files)[0] === root;
    const newRoot = rootIsFile ? join(tree, basename(root)) : tree;
    io.log(`reproducing: ${record.argv.slice(2).join(' ')}\n  ${Object.keys(found).length} tensor files found by sha256 under ${opts.weights}`);
    // The recorded cache folder belongs to the recording machine; patterns are cached beside the linked tree.
    const rest = { ...common };
    delete rest.cacheDir;
    const summary = await runCommand(newRoot, rest, deps.native ? { native: deps.native } : {});
    printSummary(summary, io.log);
    notOk = summary.failed + summary.skipped;
    newRun = summary.run ?? 1;
  } else {
    io.log(`reproducing: ${record.argv.slice(2).join(' ')}`);
    const summary = await sweepCommand(common, { ...(deps.native ? { native: deps.native } : {}), log: io.log });
    notOk = summary.failed;
    newRun = summary.run;
  }
  const comparison = compareResults({ base: baseCsv, new: opts.out, threshold, baseRun: record.run, newRun });
  await emitComparison(comparison, raw, io);
  return { csvPath: out, comparison, notOk };
}

export function registerReproduce(program: Command): void {
  addCompareOptions(
    program
      .command('reproduce')
      .description('re-run the command of a run record (same seed, kernels, M, orientation, runs) on this machine and compare with the recorded CSV')
      .argument('<record>', 'a run record (<csv>.json or <csv>.run-<n>.json) with its CSV and samples file beside it')
      .option('--weights <dir>', 'folder holding the recorded tensor files (found by their sha256; any that differs is refused)')
      .requiredOption('--out <csv>', 'CSV of the re-run (its record and samples go beside it)')
      .option('--overwrite', 'replace an existing --out'),
  ).action(async (record: string, raw: Record<string, unknown>) => {
    const r = await reproduceCommand(record, raw, {
      out: (t) => void process.stdout.write(t),
      log: (line) => void process.stderr.write(line + '\n'),
    });
    if (regressions(r.comparison) > 0 || r.notOk > 0) process.exitCode = 1;
  });
}
