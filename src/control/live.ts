import { deriveStatus, type TaskStatus } from '../task/status';
import type { Task } from '../task/model';
import { launcherAlive, quietMs } from '../lost';
import { hostName, isThisHost } from '../proc/host';

export interface LiveView {
  status: TaskStatus;
  /** Seconds since the last heartbeat, for watched tasks. */
  timer: number | null;
}

/** Reads the facts a task's status depends on (launcher identity, feedback file) and derives it; `thisHost` lets a loop ask the system once. */
export function viewOf(t: Task, nowMs = Date.now(), thisHost = hostName()): LiveView {
  if (t.state === 'RESERVED') return { status: deriveStatus({ reserved: true, launcherAlive: false, timeoutMs: null, ageMs: null }), timer: null };
  const here = isThisHost(t.host, thisHost);
  const ageMs = quietMs(t, nowMs, here);
  // Another host's watched task: its launcher's word, since its file is not read here (see quietMs).
  const recorded = !here && t.watch && (t.state === 'RUNNING' || t.state === 'SILENT' || t.state === 'STALLED') ? t.state : undefined;
  const status = deriveStatus({ reserved: false, backoff: t.state === 'BACKOFF', launcherAlive: launcherAlive(t), timeoutMs: t.watch ? t.watch.timeoutSec * 1000 : null, ageMs, recorded });
  return { status, timer: ageMs == null ? null : Math.max(0, ageMs) / 1000 };
}
