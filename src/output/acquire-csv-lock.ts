import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

import { UsageError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The lock is removed when the process is interrupted (Ctrl-C, kill, a closed terminal), not
 * only when it ends normally: the handler removes it and raises the signal again, so the
 * process still ends as the signal asks. Returns the release function.
 */
function releaseOnSignals(lockPath: string): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    release();
    process.kill(process.pid, signal);
  };
  const release = (): void => {
    for (const s of SIGNALS) process.off(s, onSignal);
    rmSync(lockPath, { force: true });
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return release;
}

/**
 * One writer per CSV: `<csv>.lock` holds the writer's pid. A lock whose process is gone (a
 * killed run) is taken over; a live one is refused, since two appenders would interleave
 * and duplicate points. Returns the release function.
 */
export function acquireCsvLock(csvPath: string): () => void {
  const lockPath = `${csvPath}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return releaseOnSignals(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new UsageError(`${csvPath} is being written by another esmm-bench process (pid ${pid}); wait for it or choose another --out`);
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new UsageError(`${csvPath}: could not take the lock ${lockPath}`);
}
