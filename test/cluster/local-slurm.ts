import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, totalmem, userInfo } from 'node:os';
import { join } from 'node:path';

const DAEMONS = ['sbatch', 'scontrol', 'slurmctld', 'slurmd', 'munged'];

function which(cmd: string): boolean {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  return dirs.some((d) => d !== '' && existsSync(join(d, cmd)));
}

/**
 * Slurm and munge from the distribution's package registry where missing. Returns null when
 * they are there, else why they could not be installed.
 */
export function ensureSlurmInstalled(log: (line: string) => void): string | null {
  if (DAEMONS.every(which)) return null;
  if (!which('apt-get')) return `Slurm is not installed and there is no apt-get to install it (missing: ${DAEMONS.filter((d) => !which(d)).join(', ')})`;
  log('installing slurm-wlm and munge (apt-get)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { env, encoding: 'utf8', timeout: 180_000 });
  if (update.status !== 0) return `apt-get update failed: ${(update.stderr || update.error?.message || '').trim().split('\n').at(-1)}`;
  const install = spawnSync('apt-get', ['install', '-y', 'slurm-wlm', 'munge'], { env, encoding: 'utf8', timeout: 300_000 });
  if (install.status !== 0) return `apt-get install slurm-wlm munge failed: ${(install.stderr || install.error?.message || '').trim().split('\n').at(-1)}`;
  return DAEMONS.every(which) ? null : `installed, but still missing: ${DAEMONS.filter((d) => !which(d)).join(', ')}`;
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePromise(port));
    });
  });
}

export interface LocalSlurm {
  /** Environment for sbatch/scontrol (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  dir: string;
  /** `scontrol show job <id>` fields of each job (array tasks each) as key=value maps. */
  jobStates(id: string): Record<string, string>[];
  /** Cancels every job, then stops every daemon this cluster started (by pid), waiting for each. */
  stop(): Promise<void>;
  logs(): string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A one-node Slurm cluster on localhost in `dir`: munged with a generated key, slurmctld and
 * slurmd with a config written here (no cgroups: proctrack/linuxproc, task/none), the node's
 * real CPU count and memory. Every daemon is a child of this process and is stopped by pid.
 */
export async function startLocalSlurm(dir: string): Promise<LocalSlurm> {
  for (const d of ['state', 'spool', 'log']) mkdirSync(join(dir, d), { recursive: true });
  const key = join(dir, 'munge.key');
  writeFileSync(key, randomBytes(1024));
  chmodSync(key, 0o400);
  const socket = join(dir, 'munge.sock');
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const user = userInfo().username;
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=esmmtest',
      'SlurmctldHost=localhost',
      `SlurmUser=${user}`,
      `SlurmdUser=${user}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerType=sched/builtin',
      'SchedulerParameters=sched_interval=1',
      'MinJobAge=3600',
      `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${availableParallelism()} RealMemory=${Math.floor(totalmem() / 2 ** 20)} State=UNKNOWN`,
      'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const start = (name: string, cmd: string, args: string[]): ChildProcess => {
    const out = openSync(join(dir, 'log', `${name}.out`), 'a');
    const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
    child.on('error', () => {});
    children.push(child);
    return child;
  };
  const cluster: LocalSlurm = {
    env,
    dir,
    jobStates(id) {
      const res = spawnSync('scontrol', ['-o', 'show', 'job', id], { env, encoding: 'utf8' });
      if (res.status !== 0) return [];
      return res.stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((line) => Object.fromEntries(line.trim().split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
    },
    async stop() {
      spawnSync('scancel', ['--full', '--quiet', `--user=${user}`], { env, timeout: 10_000 });
      for (const child of [...children].reverse()) {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          continue;
        }
        const gone = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
        if (!gone) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
          await exited;
        }
      }
    },
    logs() {
      return ['slurmctld.log', 'slurmd.log', 'munged.log']
        .map((f) => join(dir, 'log', f))
        .filter((f) => existsSync(f))
        .map((f) => `== ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-30).join('\n')}`)
        .join('\n');
    },
  };
  // Whatever happens to the test process, the daemons do not outlive it.
  process.once('exit', () => {
    for (const child of children) {
      if (child.exitCode !== null || child.pid === undefined) continue;
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
  try {
    start('munged', 'munged', ['--foreground', '--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munged.pid')}`, `--log-file=${join(dir, 'log', 'munged.log')}`, `--seed-file=${join(dir, 'munge.seed')}`]);
    for (let i = 0; i < 50 && !existsSync(socket); i++) await sleep(100);
    if (!existsSync(socket)) throw new Error('munged did not start');
    start('slurmctld', 'slurmctld', ['-D', '-f', conf]);
    start('slurmd', 'slurmd', ['-D', '-f', conf, '-N', 'localhost']);
    // Up when the node is idle.
    for (let i = 0; i < 100; i++) {
      const res = spawnSync('sinfo', ['-h', '-o', '%t'], { env, encoding: 'utf8' });
      if (res.status === 0 && res.stdout.trim() === 'idle') return cluster;
      await sleep(200);
    }
    throw new Error(`the node did not come up:\n${cluster.logs()}`);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Waits until every job of `ids` has ended; returns their final states. */
export async function waitForJobs(cluster: LocalSlurm, ids: string[], timeoutMs: number): Promise<Record<string, string>[]> {
  const ended = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED'];
  const t0 = Date.now();
  for (;;) {
    const states = ids.flatMap((id) => cluster.jobStates(id));
    const blocked = states.some((s) => s.Reason === 'DependencyNeverSatisfied');
    if (blocked || (states.length > 0 && states.every((s) => ended.includes(s.JobState ?? '')))) return states;
    if (Date.now() - t0 > timeoutMs) throw new Error(`jobs ${ids.join(', ')} still running after ${timeoutMs / 1000} s: ${states.map((s) => `${s.JobId}:${s.JobState}`).join(' ')}`);
    await sleep(500);
  }
}
