import { spawn } from 'node:child_process';

import { REPO_ROOT } from '../helpers.js';
import { cliArgv } from '../pipeline/fixtures.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the child process, seconds. */
  seconds: number;
  /** True when the command had to be killed at the time limit. */
  killed: boolean;
}

/**
 * Runs the CLI in a child process with an optional environment and a time limit: a command
 * that spins forever is killed and reported as such instead of hanging the test run.
 */
export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...cliArgv(), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, seconds: (performance.now() - started) / 1000, killed });
    });
  });
}

/** The tiny CPU run every test here uses: fast, and never a GPU number. */
export const CPU_TINY = ['--backend', 'cpu', '--m', '4', '--runs', '1', '--warmup', '0', '--l2', 'hot', '--no-progress'];
