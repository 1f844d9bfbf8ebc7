import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ctimeMsOf, heartbeatOf, type Beat } from '../feedback/file';
import { statusForAge, type WatchedStatus } from '../task/status';
import { longTimeout, type LongTimer } from '../timer';

/**
 * Watches a feedback file by deadline alone: no inotify, no polling. One timer is armed for the
 * next threshold (25%, 50%, 100% of the timeout); when it fires, the file's times are read and the
 * timer re-armed from them. Enforcement needs nothing more, so a task costs one wake-up per
 * threshold whatever its write rate and whoever shares its directory, and a launcher holds no
 * inotify instance (Linux allows 128 per user: a thousand launchers would exhaust them, and every
 * other program of that user with them). The price: a task that writes again after SILENT shows
 * RUNNING in the registry's stored row only at the next threshold; readers (control, the server)
 * derive the status from the file's mtime anyway, so what they show is true at once.
 *
 * Quiet time is measured on the monotonic clock: a change of the file's times since the last look
 * is a heartbeat, placed by its ctime (which only the kernel sets) but never earlier than that last
 * look nor later than now. So a wall-clock step kills no healthy task, and a task that touches its
 * file into the future buys nothing. A deleted or unreadable file leaves the last heartbeat known.
 *
 * While the task is RUNNING, the looks at each quarter timeout are handed to tw-beat-watch (a small
 * C program, built with launch when a C compiler is there; native/beat-watch.c): a task that keeps
 * beating then never wakes Node, whose timer wake-up costs several times the helper's. It hands
 * back at the first look that finds no beat for a whole quarter; SILENT, STALLED and the kill are
 * Node's own timers, as before. Without the helper, or if it dies, Node looks itself; so does a
 * pool's supervisor, which stays one process for the whole pool.
 */
export class HeartbeatWatch {
  private status: WatchedStatus = 'RUNNING';
  private timer: LongTimer | undefined;
  private stopped = false;
  private beatMono: number;
  private lookedMono: number;
  /** Not started yet (undefined), or none to be had (null). */
  private helper: Helper | null | undefined;
  /** The helper holds the watch (RUNNING): Node has no timer armed. */
  private delegated = false;
  /** The first look, at start, is Node's: a task too short to beat past a quarter never needs the helper. */
  private lookedBefore = false;

  constructor(
    private readonly file: string,
    private readonly timeoutMs: number,
    /** The file as created, before the task started. */
    private seen: Beat | null,
    private readonly onStatus: (s: WatchedStatus, beatWallMs: number) => void,
    private readonly onTimeout: () => void,
    /** False in a pool's supervisor: one process watches all its instances, and spawns no helper per instance. */
    useHelper = true,
  ) {
    if (!useHelper) this.helper = null;
    this.beatMono = this.lookedMono = performance.now();
  }

  start(): void {
    this.check();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.helper?.close();
  }

  private check(): void {
    if (this.stopped) return;
    this.delegated = false;
    const now = performance.now();
    const b = heartbeatOf(this.file);
    if (b && (this.seen === null || b.mtimeNs !== this.seen.mtimeNs || b.ctimeNs !== this.seen.ctimeNs)) {
      const age = Math.min(Math.max(Date.now() - ctimeMsOf(b), 0), now - this.lookedMono);
      this.beatMono = Math.max(this.beatMono, now - age);
      this.seen = b;
    }
    this.lookedMono = now;
    const v = statusForAge(now - this.beatMono, this.timeoutMs);
    this.timer?.cancel();
    if (v.status === 'TIMEOUT') {
      this.stop();
      this.onTimeout();
      return;
    }
    if (v.status !== this.status) {
      this.status = v.status;
      this.onStatus(v.status, Date.now() - (now - this.beatMono));
    }
    if (v.status === 'RUNNING' && this.lookedBefore && this.delegate(now)) return;
    this.lookedBefore = true;
    // The kill's deadline is kept to the millisecond; SILENT and STALLED may show a little late.
    this.timer = longTimeout(() => this.check(), Math.max(1, Math.ceil(v.nextInMs)), { precise: v.status === 'STALLED' });
  }

  /** Hands the RUNNING watch to the helper (started on first need); false if there is none. */
  private delegate(now: number): boolean {
    if (this.helper === undefined) this.helper = Helper.start(this.file, (q) => this.takeBack(q), () => this.helperGone());
    if (!this.helper) return false;
    const us = (ms: number) => Math.max(0, Math.round(ms * 1000));
    const ns = (x: bigint | undefined) => (x === undefined ? '-' : String(x));
    this.helper.send(`W ${us(now - this.beatMono)} ${us(this.timeoutMs * 0.25)} ${ns(this.seen?.mtimeNs)} ${ns(this.seen?.ctimeNs)}\n`);
    this.delegated = true;
    return true;
  }

  /** The helper found no beat for a whole quarter: its view of the beat, then Node's own look. */
  private takeBack(q: Quiet): void {
    if (!this.delegated || this.stopped) return;
    const now = performance.now();
    this.beatMono = Math.max(this.beatMono, now - q.sinceBeatUs / 1000);
    this.lookedMono = now;
    if (q.seen) this.seen = q.seen;
    this.check();
  }

  private helperGone(): void {
    this.helper = null;
    if (this.delegated) this.check(); // Node looks itself from now on
  }
}

/** What the helper says when it hands back: how long ago the last beat was, and the file's times it last saw. */
interface Quiet {
  sinceBeatUs: number;
  seen: Beat | null;
}

/** Where the helper is: beside the bundled launch (dist/bin), or there from the compiled sources. */
export const HELPER_PATH = [join(__dirname, 'tw-beat-watch'), join(__dirname, '..', '..', 'bin', 'tw-beat-watch')].find((p) => existsSync(p)) ?? null;

/** tw-beat-watch, one per watching launcher, for as long as it watches. */
class Helper {
  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {}

  static start(file: string, onQuiet: (q: Quiet) => void, onGone: () => void): Helper | null {
    if (HELPER_PATH === null || process.env.TASKWATCH_NO_BEAT_HELPER) return null;
    let child: ChildProcessByStdio<Writable, Readable, null>;
    try {
      child = spawn(HELPER_PATH, [file], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      return null;
    }
    let gone = false;
    const end = () => {
      if (gone) return;
      gone = true;
      onGone();
    };
    child.on('error', end);
    child.on('exit', end);
    child.stdin.on('error', end);
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = /^Q (\d+) (-|\d+) (-|\d+)$/.exec(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (m) onQuiet({ sinceBeatUs: Number(m[1]), seen: m[2] === '-' ? null : { mtimeNs: BigInt(m[2]), ctimeNs: BigInt(m[3]) } });
      }
    });
    // The helper must not keep launch alive, nor outlive it: it ends at EOF on its stdin.
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    return new Helper(child);
  }

  send(line: string): void {
    this.child.stdin.write(line);
  }

  close(): void {
    this.child.stdin.end();
  }
}
