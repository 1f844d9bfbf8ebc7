import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { heartbeatOf, type Beat } from '../feedback/file';
import { statusForAge, type WatchedStatus } from '../task/status';
import { longTimeout, type LongTimer } from '../timer';

/**
 * Watches a feedback file by event, never by polling. One timer is armed for the next threshold
 * (25%, 50%, 100% of the timeout). While the task is RUNNING, a write only needs to move the
 * deadline, so the event handler does nothing and the pending timer, when it fires, looks at the
 * file and re-arms from it; a write after SILENT or STALLED is acted on at once. A quiet task thus
 * costs one wake-up per threshold, and a chatty one a filename compare per write.
 *
 * Quiet time is measured on the monotonic clock: a change of the file's times since the last look
 * is a heartbeat, placed by its ctime (which only the kernel sets) but never earlier than that last
 * look nor later than now. So a wall-clock step kills no healthy task, and a task that touches its
 * file into the future buys nothing. A deleted or unreadable file leaves the last heartbeat known.
 */
export class HeartbeatWatch {
  private status: WatchedStatus = 'RUNNING';
  private timer: LongTimer | undefined;
  private watcher: FSWatcher | undefined;
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
    const base = basename(this.file);
    try {
      // The directory, not the file: the file may be replaced by a rename.
      this.watcher = watch(dirname(this.file), (_event, name) => {
        if (this.status !== 'RUNNING' && (name === base || name === null)) this.check();
      });
      this.watcher.on('error', () => this.unwatch()); // e.g. the directory was removed: timers still judge
    } catch {
      this.watcher = undefined;
    }
    this.check();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.unwatch();
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
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
    this.timer = longTimeout(() => this.check(), Math.max(1, Math.ceil(v.nextInMs)));
  }
}
