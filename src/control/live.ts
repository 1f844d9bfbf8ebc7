import { deriveStatus, type TaskStatus } from '../task/status';
import type { LaunchedTask, Task } from '../task/model';
import { heartbeatOf } from '../feedback/file';
import { isLauncher } from '../proc/identity';

export interface LiveView {
  status: TaskStatus;
  /** Seconds since the last heartbeat, for watched tasks. */
  timer: number | null;
}

/** True while the launcher recorded for the task is still that launch process. */
export const launcherAlive = (t: LaunchedTask): boolean => t.launcher !== null && isLauncher(t.launcher.pid, t.launcher.start);

/**
 * How long the task has been quiet, in ms: since the last change of its feedback file (its ctime,
 * which only the kernel sets, so a file touched into the future does not look fresh), the last
 * heartbeat its launcher recorded, or its start. Wall-clock based: only the launcher, which watches
 * continuously, can measure on the monotonic clock.
 */
export function quietMs(t: LaunchedTask, nowMs = Date.now()): number | null {
  if (!t.watch) return null;
  const beat = Math.max(heartbeatOf(t.watch.feedFile)?.ctimeMs ?? 0, (t.heartbeatAt ?? 0) * 1000, t.startedAt * 1000);
  return nowMs - beat;
}

/** Reads the facts a task's status depends on (launcher identity, feedback file) and derives it. */
export function viewOf(t: Task, nowMs = Date.now()): LiveView {
  if (t.state === 'RESERVED') return { status: deriveStatus({ reserved: true, launcherAlive: false, timeoutMs: null, ageMs: null }), timer: null };
  const ageMs = quietMs(t, nowMs);
  const status = deriveStatus({ reserved: false, backoff: t.state === 'BACKOFF', launcherAlive: launcherAlive(t), timeoutMs: t.watch ? t.watch.timeoutSec * 1000 : null, ageMs });
  return { status, timer: ageMs == null ? null : Math.max(0, ageMs) / 1000 };
}
