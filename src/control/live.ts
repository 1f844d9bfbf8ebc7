import { deriveStatus, type TaskStatus } from '../task/status';
import type { Task } from '../task/model';
import { heartbeatMs } from '../feedback/file';
import { isSameProcess } from '../proc/identity';

export interface LiveView {
  status: TaskStatus;
  /** Seconds since the last heartbeat, for watched tasks. */
  timer: number | null;
}

/** Reads the facts a task's status depends on (launcher identity, feedback mtime) and derives it. */
export function viewOf(t: Task, nowMs = Date.now()): LiveView {
  if (t.state === 'RESERVED') return { status: deriveStatus({ reserved: true, launcherAlive: false, timeoutMs: null, ageMs: null }), timer: null };
  let ageMs: number | null = null;
  if (t.watch) {
    const beat = Math.max(heartbeatMs(t.watch.feedFile) ?? 0, (t.heartbeatAt ?? 0) * 1000, t.startedAt * 1000);
    ageMs = nowMs - beat;
  }
  const status = deriveStatus({
    reserved: false,
    launcherAlive: t.launcher !== null && isSameProcess(t.launcher.pid, t.launcher.start),
    timeoutMs: t.watch ? t.watch.timeoutSec * 1000 : null,
    ageMs,
  });
  return { status, timer: ageMs == null ? null : Math.max(0, ageMs) / 1000 };
}
