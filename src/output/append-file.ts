import { closeSync, existsSync, fdatasyncSync, ftruncateSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * Drops a half-written last line (a process killed mid-write leaves one without its
 * newline). Complete lines are never touched. Returns the number of bytes dropped.
 */
export function dropPartialLastLine(path: string): number {
  if (!existsSync(path)) return 0;
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const chunk = 64 * 1024;
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk);
      const buf = Buffer.alloc(end - start);
      readSync(fd, buf, 0, buf.length, start);
      const nl = buf.lastIndexOf(0x0a);
      if (nl >= 0) {
        const keep = start + nl + 1;
        if (keep < size) ftruncateSync(fd, keep);
        return size - keep;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
    return size;
  } finally {
    closeSync(fd);
  }
}

/**
 * An append-only text file. Every write reaches the kernel before returning, so a killed
 * process loses nothing; `durable` also syncs it to disk (survives a power cut, ~ms each).
 */
export class AppendFile {
  private fd: number | null;

  constructor(
    path: string,
    private readonly durable = true,
  ) {
    this.fd = openSync(path, 'a');
  }

  write(text: string): void {
    if (this.fd === null) throw new Error('AppendFile: write after close');
    if (text.length === 0) return;
    writeSync(this.fd, text);
    if (this.durable) fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
