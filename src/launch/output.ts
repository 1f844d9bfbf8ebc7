import { closeSync, constants as fsc, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

// launch --log FILE: the task's output goes through launch into FILE, which is rotated when it
// would pass --log-max (FILE.1, FILE.2, ... up to --log-keep of them, the oldest dropped), so a chatty
// task can never fill the disk. The file is opened without following links: it may sit where
// someone else can plant one.

/** `10M`, `512K`, `1G` or a number of bytes; null when it does not read so. */
export function parseSize(v: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*$/i.exec(v);
  if (!m) return null;
  const n = Number(m[1]) * 1024 ** ' KMG'.indexOf(m[2].toUpperCase() || ' ');
  return n >= 1 ? Math.floor(n) : null;
}

export interface LogPlan {
  /** Where stdout goes (null: inherited, as without --log). --log FILE sends both streams to FILE. */
  stdout: string | null;
  stderr: string | null;
  maxBytes: number;
  keep: number;
}

export const DEFAULT_LOG_MAX = 10 * 1024 * 1024;
export const DEFAULT_LOG_KEEP = 2;

/** One log file, appended to and rotated at maxBytes. */
export class RotatingLog {
  private fd: number;
  private size: number;

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    private readonly keep: number,
  ) {
    this.fd = RotatingLog.open(file);
    this.size = fstatSync(this.fd).size;
  }

  static open(file: string): number {
    try {
      return openSync(file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ELOOP' ? `the log file ${file} is a symbolic link; not followed` : `cannot open the log file ${file} (${code ?? (err as Error).message})`);
    }
  }

  write(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.size >= this.maxBytes) this.rotate();
      const room = this.maxBytes - this.size;
      const piece = rest.length > room ? rest.subarray(0, room) : rest;
      writeSync(this.fd, piece);
      this.size += piece.length;
      rest = rest.subarray(piece.length);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** FILE becomes FILE.1, FILE.1 FILE.2 and so on; what would be FILE.(keep+1) is dropped. */
  private rotate(): void {
    closeSync(this.fd);
    rmSync(`${this.file}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      } catch {
        /* not there yet */
      }
    }
    if (this.keep > 0) renameSync(this.file, `${this.file}.1`);
    else rmSync(this.file, { force: true });
    this.fd = RotatingLog.open(this.file);
    this.size = 0;
  }
}

/** The task's logs, opened before it starts (a refused file refuses the run, not half of it). */
export class TaskLogs {
  private readonly out: RotatingLog | null;
  private readonly err: RotatingLog | null;
  private streams: Readable[] = [];

  constructor(plan: LogPlan) {
    this.out = plan.stdout === null ? null : new RotatingLog(plan.stdout, plan.maxBytes, plan.keep);
    try {
      this.err = plan.stderr === null ? null : plan.stderr === plan.stdout ? this.out : new RotatingLog(plan.stderr, plan.maxBytes, plan.keep);
    } catch (err) {
      this.out?.close();
      throw err;
    }
  }

  /** Copies the task's piped streams into their logs as they come. */
  follow(stdout: Readable | null, stderr: Readable | null): void {
    for (const [s, log] of [[stdout, this.out], [stderr, this.err]] as const) {
      if (!s || !log) continue;
      this.streams.push(s);
      s.on('data', (d: Buffer) => log.write(d));
      s.on('error', () => {});
    }
  }

  /**
   * Stops copying and closes the files. What is still in the pipes is read first; a process that
   * left the task's containment and keeps them open is not waited for.
   */
  async close(): Promise<void> {
    await Promise.race([
      Promise.all(this.streams.map((s) => new Promise((r) => (s.readableEnded ? r(null) : s.once('end', r))))),
      new Promise((r) => setTimeout(r, 200).unref()),
    ]);
    for (const s of this.streams) s.destroy();
    this.out?.close();
    if (this.err !== this.out) this.err?.close();
  }
}
