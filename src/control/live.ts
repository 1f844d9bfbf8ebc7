import { deriveStatus, type TaskStatus } from '../feedback/status';
import { heartbeatMs } from '../feedback/file';
import { isSameProcess } from '../proc/identity';
import type { TaskRow } from '../db/registry';

export interface LiveView {
  status: TaskStatus;
  /** Seconds since the last heartbeat, for watched tasks. */
  timer: number | null;
}

/** Reads the facts a row's status depends on (launcher identity, feedback mtime) and derives it. */
export function viewOf(t: TaskRow, nowMs = Date.now()): LiveView {
  const reserved = t.status === 'RESERVED';
  let ageMs: number | null = null;
  if (!reserved && t.feedpath && t.timeout != null) {
    const beat = Math.max(heartbeatMs(t.feedpath) ?? 0, (t.heartbeat ?? 0) * 1000, (t.starttime ?? 0) * 1000);
    ageMs = nowMs - beat;
  }
  const status = deriveStatus({
    reserved,
    launcherAlive: !reserved && isSameProcess(t.launcher_pid, t.launcher_start),
    timeoutMs: t.feedpath && t.timeout != null ? t.timeout * 1000 : null,
    ageMs,
  });
  return { status, timer: ageMs == null ? null : Math.max(0, ageMs) / 1000 };
}
