import type { WatchedStatus } from './status';
import type { Outcome } from './outcome';
import type { RestartRule } from './restart';

// A live task as the registry holds it. A reservation carries only what a reservation has; a
// launched task carries what its watcher recorded. Rows become these types at the registry's edge.

/** Seconds between SIGTERM and SIGKILL unless told otherwise (launch --grace, control --kill --grace). */
export const DEFAULT_GRACE_SEC = 10;

/** A process proven by its start time (field 22 of /proc/PID/stat): pids are reused, this pair is not. */
export interface ProcessId {
  pid: number;
  start: number;
}

export interface Infos {
  name?: string;
  info1?: string;
  info2?: string;
  info3?: string;
}

interface Common {
  id: number;
  name: string | null;
  info1: string | null;
  info2: string | null;
  info3: string | null;
}

export interface ReservedTask extends Common {
  state: 'RESERVED';
  reservedAt: number;
  expiresAt: number;
}

/**
 * The status a launched task's row holds: the watcher's last word (BACKOFF between runs, waiting to
 * restart), or LOST once control found it gone.
 */
export type RecordedStatus = WatchedStatus | 'BACKOFF' | 'LOST';

/** Where --log sends the task's output; null for a stream that is inherited. */
export interface TaskLogPaths {
  stdout: string | null;
  stderr: string | null;
}

export interface LaunchedTask extends Common {
  state: RecordedStatus;
  /** The machine it runs on (TASKWATCH_HOST, else the hostname); null in rows from before hosts were kept. */
  host: string | null;
  command: string[];
  /** When the current run started (or the last one, while BACKOFF). */
  startedAt: number;
  /** The run now going, 1 for the first; history numbers each run's row. */
  run: number;
  restarts: number;
  lastOutcome: Outcome | null;
  rule: RestartRule;
  /** While BACKOFF: when the next run is due (epoch seconds). */
  nextStartAt: number | null;
  logs: TaskLogPaths;
  /** The pool it is an instance of, and which instance (1..N); null for a task of its own. */
  pool: { name: string; instance: number } | null;
  launcher: ProcessId | null;
  /**
   * On PostgreSQL, whether the launcher's advisory lock on the task was held when the row was read:
   * the database's own word on whether a launcher (on any host) still watches it. Null on SQLite.
   */
  launcherLock: boolean | null;
  /** The child; null until the launcher has recorded it. */
  leader: ProcessId | null;
  /** The process group the child leads; null with --foreground (it shares launch's) or before it is recorded. */
  pgid: number | null;
  /** The heartbeat: the feedback file (its name derived by the registry) and the quiet time that ends the task. */
  watch: { feedFile: string; timeoutSec: number } | null;
  /** --max-time: a limit on the whole run. */
  maxTimeSec: number | null;
  graceSec: number;
  /** The task's own cgroup, when it is contained in one (else its process group, led by `leader`). */
  cgroup: string | null;
  /** The last heartbeat the launcher knew of, epoch seconds (survives a deleted file). */
  heartbeatAt: number | null;
  /** Left by control --kill before it signals the launcher. */
  killRequest: { graceSec: number | null; note: string } | null;
}

export type Task = ReservedTask | LaunchedTask;

export const isLaunched = (t: Task): t is LaunchedTask => t.state !== 'RESERVED';

/** How a pool's instances are run: what launch takes for a task, fixed for the pool. */
export interface PoolOptions {
  feedDir: string | null;
  timeoutSec: number;
  graceSec: number;
  maxTimeSec: number | null;
  rule: RestartRule;
  logMaxBytes: number;
  logKeep: number;
}

/** N instances of a command, kept alive by one supervisor process (a launch in pool mode). */
export interface Pool {
  name: string;
  desired: number;
  command: string[];
  options: PoolOptions;
  createdAt: number;
  supervisor: ProcessId | null;
  supervisedSince: number | null;
  dead: number;
  stalled: number;
  restarts: number;
}
