import { commandArray, type HistoryRow } from '../db/registry';
import type { Outcome } from '../task/outcome';
import type { TaskStatus } from '../task/status';

// What control prints about tasks, as plain objects with exactly the keys its --json shows.

/** One live task, with exactly the keys `control --list --json` prints. */
export interface ListEntry {
  taskid: number;
  name: string | null;
  info1: string | null;
  info2: string | null;
  info3: string | null;
  pid: number | null;
  status: TaskStatus;
  starttime: number | null;
  duration: number | null;
  feedback: boolean;
  timer: number | null;
  timeout: number | null;
  cpu: number | null;
  memory: number | null;
  /** What holds the task's processes: its own cgroup, or (where there is none) its process group. */
  containment: 'cgroup' | 'pgroup' | null;
  /** How many times it was started again (--restart), and how its last run before this one ended. */
  restarts: number;
  last_outcome: Outcome | null;
  /** The pool it is an instance of, and which one; null for a task of its own. */
  pool: string | null;
  instance: number | null;
  /** The machine it runs on; null while reserved (and in rows from before hosts were kept). */
  host: string | null;
}

/** One ended task, with exactly the keys `control --history --json` prints. */
export interface HistoryEntry {
  id: number;
  taskid: number;
  name: string | null;
  info1: string | null;
  info2: string | null;
  info3: string | null;
  command: string[] | null;
  pid: number | null;
  starttime: number | null;
  endtime: number | null;
  duration: number | null;
  outcome: Outcome | null;
  exitcode: number | null;
  termsignal: string | null;
  termerror: string | null;
  feedback: Record<string, unknown>;
  /** Which run of its task this was (1 for the first). */
  run: number;
  /** launch's exit status for it (null in records from before taskwatch kept it). */
  status: number | null;
  /** The machine it ran on (null in records from before hosts were kept). */
  host: string | null;
}

/** Stored JSON back to an object; rows from taskwatcher 1.x may hold a JSON string of JSON. */
export function feedbackObject(stored: string | Buffer | null): Record<string, unknown> {
  let v: unknown = stored == null ? null : String(stored);
  for (let i = 0; i < 2 && typeof v === 'string'; i++) {
    try {
      v = JSON.parse(v);
    } catch {
      return {};
    }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function historyEntry(h: HistoryRow): HistoryEntry {
  return {
    id: h.id,
    taskid: h.taskid,
    name: h.taskname,
    info1: h.info1,
    info2: h.info2,
    info3: h.info3,
    command: commandArray(h.command),
    pid: h.pid,
    starttime: h.starttime,
    endtime: h.endtime,
    duration: h.duration,
    outcome: h.outcome,
    exitcode: h.exitcode,
    termsignal: h.termsignal,
    termerror: h.termerror,
    feedback: feedbackObject(h.feedback),
    run: h.run ?? 1,
    status: h.status ?? null,
    host: h.host ?? null,
  };
}

/** One pool, with exactly the keys `control --pools --json` prints. */
export interface PoolEntry {
  name: string;
  desired: number;
  active: number;
  command: string[];
  created: number;
  supervisor_pid: number | null;
  supervised_since: number | null;
  last_heartbeat: number | null;
  dead: number;
  stalled: number;
  restarts: number;
}
