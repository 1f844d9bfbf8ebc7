// The status of a watched task, derived in one place from how long its heartbeat has been quiet.

/** What a live row can be: reserved, watched (by heartbeat age), waiting to restart, or LOST when its launcher is gone. */
export type TaskStatus = 'RESERVED' | 'RUNNING' | 'SILENT' | 'STALLED' | 'BACKOFF' | 'LOST';
export type WatchedStatus = 'RUNNING' | 'SILENT' | 'STALLED';

export interface HeartbeatVerdict {
  /** TIMEOUT means the quiet has reached the timeout: the task must be killed now. */
  status: WatchedStatus | 'TIMEOUT';
  /** Milliseconds until the status changes if nothing else happens (0 once TIMEOUT). */
  nextInMs: number;
}

/**
 * age < 25% of the timeout: RUNNING; 25% to 50%: SILENT; 50% to 100%: STALLED; at 100%: TIMEOUT.
 * A negative age (an mtime in the future) counts as fresh.
 */
export function statusForAge(ageMs: number, timeoutMs: number): HeartbeatVerdict {
  const age = Math.max(0, ageMs);
  if (age < timeoutMs * 0.25) return { status: 'RUNNING', nextInMs: timeoutMs * 0.25 - age };
  if (age < timeoutMs * 0.5) return { status: 'SILENT', nextInMs: timeoutMs * 0.5 - age };
  if (age < timeoutMs) return { status: 'STALLED', nextInMs: timeoutMs - age };
  return { status: 'TIMEOUT', nextInMs: 0 };
}

export interface LiveFacts {
  reserved: boolean;
  /** Between runs, waiting to restart. */
  backoff?: boolean;
  /** The launcher is still the process recorded for the task. */
  launcherAlive: boolean;
  /** Heartbeat timeout in ms, or null for a task that is not watched by feedback. */
  timeoutMs: number | null;
  /** ms since the last heartbeat (or since start, before the first write). */
  ageMs: number | null;
  /**
   * For a task on another host, whose feedback file cannot be read here: what its launcher last
   * recorded. That launcher watches the file; its word stands in for the age.
   */
  recorded?: WatchedStatus;
}

/** The status `control` shows, true at the moment it is asked, whatever the launcher last wrote. */
export function deriveStatus(f: LiveFacts): TaskStatus {
  if (f.reserved) return 'RESERVED';
  if (!f.launcherAlive) return 'LOST';
  if (f.backoff) return 'BACKOFF';
  if (f.recorded) return f.recorded;
  if (f.timeoutMs == null || f.ageMs == null) return 'RUNNING';
  const v = statusForAge(f.ageMs, f.timeoutMs).status;
  return v === 'TIMEOUT' ? 'STALLED' : v; // at 100% the launcher is killing it this instant
}
