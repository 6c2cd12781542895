import cliProgress from 'cli-progress';

/** Receives download progress; the hub stage never prints by itself. */
export interface DownloadProgress {
  start(file: string, bytes: number): void;
  advance(bytes: number): void;
  finish(file: string): void;
  stop(): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A cli-progress bar over all bytes on a TTY, one line per file otherwise. */
export function createDownloadProgress(params: { totalBytes: number; stream?: NodeJS.WriteStream }): DownloadProgress {
  const stream = params.stream ?? process.stderr;
  if (!stream.isTTY) {
    let current = '';
    return {
      start(file, bytes) {
        current = file;
        stream.write(`fetching ${file} (${formatBytes(bytes)})\n`);
      },
      advance() {},
      finish(file) {
        if (file === current) stream.write(`fetched ${file}\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{file} |{bar}| {percentage}% {done}/{size}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let done = 0;
  const size = formatBytes(params.totalBytes);
  bar.start(Math.max(params.totalBytes, 1), 0, { file: '', done: formatBytes(0), size });
  return {
    start(file) {
      bar.update(done, { file, done: formatBytes(done), size });
    },
    advance(bytes) {
      done += bytes;
      bar.update(Math.min(done, params.totalBytes), { done: formatBytes(done), size });
    },
    finish() {},
    stop() {
      bar.stop();
    },
  };
}
