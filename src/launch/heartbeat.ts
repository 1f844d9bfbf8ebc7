import { heartbeatOf, type Beat } from '../feedback/file';
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
 */
export class HeartbeatWatch {
  private status: WatchedStatus = 'RUNNING';
  private timer: LongTimer | undefined;
  private stopped = false;
  private beatMono: number;
  private lookedMono: number;

  constructor(
    private readonly file: string,
    private readonly timeoutMs: number,
    /** The file as created, before the task started. */
    private seen: Beat | null,
    private readonly onStatus: (s: WatchedStatus, beatWallMs: number) => void,
    private readonly onTimeout: () => void,
  ) {
    this.beatMono = this.lookedMono = performance.now();
  }

  start(): void {
    this.check();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private check(): void {
    if (this.stopped) return;
    const now = performance.now();
    const b = heartbeatOf(this.file);
    if (b && (this.seen === null || b.mtimeMs !== this.seen.mtimeMs || b.ctimeMs !== this.seen.ctimeMs)) {
      const age = Math.min(Math.max(Date.now() - b.ctimeMs, 0), now - this.lookedMono);
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
    // The kill's deadline is kept to the millisecond; SILENT and STALLED may show a little late.
    this.timer = longTimeout(() => this.check(), Math.max(1, Math.ceil(v.nextInMs)), { precise: v.status === 'STALLED' });
  }
}
