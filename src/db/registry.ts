import { DEFAULT_GRACE_SEC, type Infos, type LaunchedTask, type Pool, type PoolOptions, type ProcessId, type RecordedStatus, type ReservedTask, type Task, type TaskLogPaths } from '../task/model';
import type { EndingFields, Outcome } from '../task/outcome';
import type { RestartPolicy, RestartRule } from '../task/restart';
import { feedbackFileName } from '../feedback/file';
import { cgroupNameOk } from '../proc/cgroup-name';
import type { HistoryFilter } from './history-filter';

export { historyWhere, type HistoryFilter } from './history-filter';

/** A tasks row as either database returns it; it becomes a Task at this file's edge and nowhere else. */
export interface TaskRow {
  id: number;
  name: string | null;
  info1: string | null;
  info2: string | null;
  info3: string | null;
  pid: number | null;
  status: string;
  feedback: number;
  reservetime: number | null;
  starttime: number | null;
  duration: number | null;
  lastupdate: number | null;
  timeout: number | null;
  expires: number | null;
  pid_start: number | null;
  launcher_pid: number | null;
  launcher_start: number | null;
  command: string | null;
  feeddir: string | null;
  max_time: number | null;
  pgid: number | null;
  cgroup: string | null;
  grace: number | null;
  heartbeat: number | null;
  kill_grace: number | null;
  kill_note: string | null;
  restart: string;
  max_restarts: number | null;
  backoff_min: number;
  backoff_max: number;
  run: number;
  restarts: number;
  last_outcome: string | null;
  next_start: number | null;
  log_out: string | null;
  log_err: string | null;
  pool: string | null;
  instance: number | null;
  host?: string | null;
  /** PostgreSQL only: whether the launcher's advisory lock on the task is held as this row is read. */
  held?: boolean | null;
}

export interface PoolRow {
  name: string;
  desired: number;
  command: string;
  options: string;
  created: number;
  supervisor_pid: number | null;
  supervisor_start: number | null;
  supervised_since: number | null;
  dead: number;
  stalled: number;
  restarts: number;
}

/** A page of history for `--history --json` (Registry.historyJson). */
export interface HistoryPage {
  items: Array<string | HistoryRow>;
  /** How many rows the page holds, and the lowest id among them (null when it is empty). */
  count: number;
  lowest: number | null;
}

export interface HistoryRow {
  id: number;
  taskid: number;
  taskname: string | null;
  info1: string | null;
  info2: string | null;
  info3: string | null;
  termsignal: string | null;
  termerror: string | null;
  starttime: number | null;
  endtime: number | null;
  duration: number | null;
  feedback: string | null;
  command: string | null;
  pid: number | null;
  exitcode: number | null;
  outcome: Outcome | null;
  run: number | null;
  status: number | null;
  log_out: string | null;
  log_err: string | null;
  host?: string | null;
}

/** What a launcher records when it takes a task. */
export interface LaunchFields extends Infos {
  command: string[];
  feedDir: string | null;
  timeoutSec: number | null;
  maxTimeSec: number | null;
  graceSec: number;
  launcher: ProcessId;
  rule: RestartRule;
  logs: TaskLogPaths;
  pool?: { name: string; instance: number };
}

/** An ending as history stores it: the outcome's columns, launch's exit status, the final feedback, and when the process ended. */
export interface ArchivedEnding extends EndingFields {
  status: number;
  feedback: Record<string, string> | null;
  endedAt: number;
}

export type ReserveResult = { ok: true; id: number } | { ok: false; holder: Task };
export type ClaimResult = { claimed: LaunchedTask } | 'unknown' | 'taken';

export const DEFAULT_TTL_SEC = 300;
/** What onKillRequest passes when the registry cannot tell which task a request was for. */
export const ANY_TASK = -1;
export const nowSec = (): number => Date.now() / 1000;

const RECORDED: readonly string[] = ['RUNNING', 'SILENT', 'STALLED', 'BACKOFF', 'LOST'];
const POLICIES: readonly string[] = ['no', 'on-failure', 'always'];
const OUTCOMES: readonly string[] = ['exited', 'signaled', 'timeout', 'killed', 'lost', 'failed_to_start'];

/** Stored JSON argv back to an array; a bare string from an older writer is one word. */
export function commandArray(stored: string | null): string[] | null {
  if (stored == null) return null;
  try {
    const v = JSON.parse(stored);
    return Array.isArray(v) ? v.map(String) : [String(v)];
  } catch {
    return [stored];
  }
}

export interface OpenOptions {
  /** Create the file if it is missing: only commands that write may (launch, control --reserve, --initialize). */
  create: boolean;
  /** Create the parent directory (only for the default location). */
  mkdirs?: boolean;
  /** How long a statement waits on another writer before SQLITE_BUSY. */
  busyMs?: number;
}

/** A supervisor may take a pool that exists and is held by no other live supervisor (`alive` proves a pid on this host). */
export const mayClaimPool = (p: Pool | undefined, me: ProcessId, alive: (p: ProcessId) => boolean): p is Pool =>
  p !== undefined && !(p.supervisor && !(p.supervisor.pid === me.pid && p.supervisor.start === me.start) && alive(p.supervisor));

/** The edge: a row to a Task. The feedback file's name is derived here, never read back from the row. */
export function toTask(r: TaskRow, key: string): Task {
  // Each field written out, not spread from a common part: spreading first made V8 build every
  // row's object property by property (about 20 us a row, 0.2 s for a list of 10,000).
  if (r.status === 'RESERVED') {
    const reserved: ReservedTask = {
      id: r.id, name: r.name, info1: r.info1, info2: r.info2, info3: r.info3, state: 'RESERVED', reservedAt: r.reservetime ?? 0, expiresAt: r.expires ?? Infinity,
    };
    return reserved;
  }
  const launched: LaunchedTask = {
    id: r.id,
    name: r.name,
    info1: r.info1,
    info2: r.info2,
    info3: r.info3,
    // An unknown stored status (a foreign writer) reads as RUNNING; readers derive the live status anyway.
    state: (RECORDED.includes(r.status) ? r.status : 'RUNNING') as RecordedStatus,
    host: r.host ?? null,
    command: commandArray(r.command) ?? [],
    startedAt: r.starttime ?? r.reservetime ?? 0,
    run: r.run ?? 1,
    restarts: r.restarts ?? 0,
    lastOutcome: r.last_outcome && OUTCOMES.includes(r.last_outcome) ? (r.last_outcome as Outcome) : null,
    rule: {
      policy: (POLICIES.includes(r.restart) ? r.restart : 'no') as RestartPolicy,
      maxRestarts: r.max_restarts,
      backoffMinSec: r.backoff_min ?? 0.1,
      backoffMaxSec: r.backoff_max ?? 30,
    },
    nextStartAt: r.next_start,
    logs: { stdout: r.log_out, stderr: r.log_err },
    pool: r.pool !== null && r.instance !== null ? { name: r.pool, instance: r.instance } : null,
    launcherLock: r.held ?? null,
    launcher: r.launcher_pid != null && r.launcher_start != null ? { pid: r.launcher_pid, start: r.launcher_start } : null,
    leader: r.pid != null && r.pid_start != null ? { pid: r.pid, start: r.pid_start } : null,
    watch: r.feeddir && r.timeout != null ? { feedFile: feedbackFileName(r.feeddir, key, r.id), timeoutSec: r.timeout } : null,
    maxTimeSec: r.max_time,
    graceSec: r.grace ?? DEFAULT_GRACE_SEC,
    heartbeatAt: r.heartbeat,
    killRequest: r.kill_note != null ? { graceSec: r.kill_grace, note: r.kill_note } : null,
    pgid: r.pgid,
    // A cgroup path whose last component is not this task's own name is ignored: the row may be forged.
    cgroup: r.cgroup && cgroupNameOk(r.cgroup, key, r.id) ? r.cgroup : null,
  };
  return launched;
}


export function toPool(r: PoolRow): Pool {
  return {
    name: r.name,
    desired: r.desired,
    command: commandArray(r.command) ?? [],
    options: JSON.parse(r.options) as PoolOptions,
    createdAt: r.created,
    supervisor: r.supervisor_pid != null && r.supervisor_start != null ? { pid: r.supervisor_pid, start: r.supervisor_start } : null,
    supervisedSince: r.supervised_since,
    dead: r.dead,
    stalled: r.stalled,
    restarts: r.restarts,
  };
}


/**
 * The registry: every task, pool and ending, in an SQLite file (`./sqlite`, the default) or in
 * PostgreSQL (`./postgres`, loaded only when a URL is given). Calls are synchronous for both: the
 * PostgreSQL one runs its connection on a worker thread and waits for each answer, so every
 * caller's order of writes is the same whichever database holds them.
 */
export interface Registry {
  readonly kind: 'sqlite' | 'postgres';
  /** Random, made with the registry: it makes feedback file names and process marks unique to it. */
  readonly key: string;
  /** The file, or the URL without its password: what messages name. */
  readonly file: string;
  /** What `--db` takes to open this registry again (a task's TASKWATCH_DB, a pool's supervisor). */
  readonly dbArg: string;
  /** The directory for files kept beside the registry (pools' logs). */
  readonly home: string;
  /** True when LOST is decided by the database (a launcher's lock) rather than by a local pid. */
  readonly locks: boolean;
  close(): void;
  /** False once the registry this handle writes to is no longer the one at its path. */
  stillAtPath(): boolean;
  /** How long statements wait for another writer; the launcher's watch never waits (status writes are advice). */
  setBusyTimeout(ms: number): void;
  /**
   * Calls `onChange` whenever another process may have changed the registry (inotify on the file
   * and its WAL; LISTEN on PostgreSQL); nothing polls. Returns what stops the watch.
   */
  watch(onChange: () => void): () => void;
  /**
   * Calls `onKill` with a task id when control --kill may have asked, through the registry, for a task
   * this process watches: PostgreSQL's NOTIFY names it (and crosses hosts); SQLite's change watch
   * passes ANY_TASK. The listener reads the request itself before it acts.
   */
  onKillRequest(onKill: (id: number) => void): () => void;

  sweep(now?: number): number;
  reserve(o: Infos & { unique?: boolean; ttlSec?: number }, now?: number): ReserveResult;
  /** Reserves and takes a task in one step, for a launch without --taskid. */
  startNew(f: LaunchFields, now?: number): LaunchedTask;
  /** Takes a RESERVED task atomically: of two launchers racing for one id, one gets it. */
  claim(id: number, f: LaunchFields, now?: number): ClaimResult;
  /** Records the child, the process group it leads (null with --foreground) and the cgroup that contains it, if any. */
  setChild(id: number, leader: ProcessId, pgid: number | null, cgroup: string | null): void;
  setStatus(id: number, status: RecordedStatus, heartbeat: number | null, now?: number): void;
  /** Leaves control --kill's note and grace for the launcher (and on PostgreSQL tells it), unless an earlier request's note is there. */
  requestKill(id: number, graceSec: number | null, note: string): void;
  withdrawKill(id: number, note: string): void;
  archive(t: LaunchedTask, e: ArchivedEnding, restart?: { at: number } | null): number | null;
  beginRun(t: LaunchedTask, now?: number): LaunchedTask | undefined;
  endBetweenRuns(t: LaunchedTask, note: string): void;
  pool(name: string): Pool | undefined;
  pools(): Pool[];
  scalePool(name: string, desired: number, def: { command: string[]; options: PoolOptions } | null, now?: number): { created: boolean } | { missing: true };
  claimPool(name: string, me: ProcessId, alive: (p: ProcessId) => boolean, now?: number): boolean;
  releasePool(name: string, me: ProcessId): void;
  countPool(name: string, c: { dead?: number; stalled?: number; restarts?: number }): void;
  deletePool(name: string): boolean;
  poolTasks(name: string): Task[];
  task(id: number): Task | undefined;
  liveTasks(now?: number): Task[];
  tasksNamed(name: string): Task[];
  history(o: HistoryFilter & { limit: number; offset?: number }): HistoryRow[];
  historyAfter(id: number): HistoryRow[];
  /**
   * A page of history as `history` gives it, in order: JSON text of one or more entries, comma-separated
   * (what `historyEntry` in src/control/entries.ts makes of their rows), built by the database where it
   * can, and rows for the caller to map.
   */
  historyJson(o: HistoryFilter & { limit: number }): HistoryPage;
  historyOf(taskid: number): HistoryRow | undefined;
  release(id: number): boolean;
  historyCount(f?: HistoryFilter): number;
  clearHistory(): number;
  refreshDurations(now?: number): number;
  liveCount(): number;
  recreate(): void;
}
