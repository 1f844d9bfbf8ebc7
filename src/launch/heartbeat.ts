import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { heartbeatMs } from '../feedback/file';
import { statusForAge, type WatchedStatus } from '../task/status';

/**
 * Watches a feedback file's mtime by event, never by polling. One timer is armed for the next
 * threshold (25%, 50%, 100% of the timeout). While the task is RUNNING, a write only needs to move
 * the deadline, so the event handler does nothing and the pending timer, when it fires, reads the
 * mtime and re-arms from it; a write after SILENT or STALLED is acted on at once. A quiet task thus
 * costs one wake-up per threshold, and a chatty one a filename compare per write.
 * The heartbeat only moves forward: a deleted or unreadable file leaves the last one known.
 */
export class HeartbeatWatch {
  private status: WatchedStatus = 'RUNNING';
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly timeoutMs: number,
    private lastBeat: number,
    private readonly onStatus: (s: WatchedStatus, beatMs: number) => void,
    private readonly onTimeout: (beatMs: number) => void,
  ) {}

  start(): void {
    const base = basename(this.file);
    try {
      // The directory, not the file: the file may not exist yet, or be replaced by a rename.
      this.watcher = watch(dirname(this.file), (_event, name) => {
        if (this.status !== 'RUNNING' && (name === base || name === null)) this.check();
      });
      this.watcher.on('error', () => this.unwatch()); // e.g. the directory was removed: timers still judge by mtime
    } catch {
      this.watcher = undefined;
    }
    this.check();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unwatch();
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private check(): void {
    if (this.stopped) return;
    const m = heartbeatMs(this.file);
    if (m !== null && m > this.lastBeat) this.lastBeat = m;
    const v = statusForAge(Date.now() - this.lastBeat, this.timeoutMs);
    clearTimeout(this.timer);
    if (v.status === 'TIMEOUT') {
      this.stop();
      this.onTimeout(this.lastBeat);
      return;
    }
    if (v.status !== this.status) {
      this.status = v.status;
      this.onStatus(v.status, this.lastBeat);
    }
    this.timer = setTimeout(() => this.check(), Math.max(1, Math.ceil(v.nextInMs)));
  }
}
