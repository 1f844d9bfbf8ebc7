import { existsSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, recreate } from './schema';
import type { Infos, LaunchedTask, RecordedStatus, ReservedTask, Task } from '../task/model';
import type { EndingFields, Outcome } from '../task/outcome';
import { DEFAULT_GRACE_SEC } from '../task/model';

/** A tasks row as SQLite returns it; it becomes a Task at this file's edge and nowhere else. */
interface TaskRow {
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
  feedpath: string | null;
  grace: number | null;
  heartbeat: number | null;
  kill_grace: number | null;
  kill_note: string | null;
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
}

/** What a launcher records when it takes a task. */
export interface LaunchFields extends Infos {
  command: string[];
  feedpath: string | null;
  timeout: number | null;
  grace: number;
  launcherPid: number;
  launcherStart: number | null;
}

/** An ending as history stores it: the outcome's columns and the final feedback. */
export interface ArchivedEnding extends EndingFields {
  feedback: Record<string, string> | null;
}

export type ReserveResult = { ok: true; id: number } | { ok: false; holder: Task };
export type ClaimResult = 'claimed' | 'unknown' | 'taken';

export const DEFAULT_TTL_SEC = 300;
export const nowSec = (): number => Date.now() / 1000;

const RECORDED: readonly string[] = ['RUNNING', 'SILENT', 'STALLED', 'LOST'];

/** The edge: a row to a Task. An unknown stored status (a foreign writer) reads as RUNNING, the watcher's default. */
function toTask(r: TaskRow): Task {
  const common = { id: r.id, name: r.name, info1: r.info1, info2: r.info2, info3: r.info3 };
  if (r.status === 'RESERVED') {
    const reserved: ReservedTask = { ...common, state: 'RESERVED', reservedAt: r.reservetime ?? 0, expiresAt: r.expires ?? Infinity };
    return reserved;
  }
  const launched: LaunchedTask = {
    ...common,
    state: (RECORDED.includes(r.status) ? r.status : 'RUNNING') as RecordedStatus,
    command: commandArray(r.command) ?? [],
    startedAt: r.starttime ?? r.reservetime ?? 0,
    launcher: r.launcher_pid != null && r.launcher_start != null ? { pid: r.launcher_pid, start: r.launcher_start } : null,
    leader: r.pid != null && r.pid_start != null ? { pid: r.pid, start: r.pid_start } : null,
    watch: r.feedpath && r.timeout != null ? { feedFile: r.feedpath, timeoutSec: r.timeout } : null,
    graceSec: r.grace ?? DEFAULT_GRACE_SEC,
    heartbeatAt: r.heartbeat,
    killRequest: r.kill_note != null ? { graceSec: r.kill_grace, note: r.kill_note } : null,
  };
  return launched;
}

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
  /** Create the parent directory (only for the default location). */
  mkdirs?: boolean;
  /** How long a statement waits on another writer before SQLITE_BUSY. */
  busyMs?: number;
}

/**
 * Opens (creating if needed) and migrates the registry. The first statement is a read, so a file
 * that is not a database fails with SQLITE_NOTADB before anything could write to it.
 */
export function openRegistry(file: string, opts: OpenOptions = {}): Registry {
  if (opts.mkdirs) mkdirSync(dirname(file), { recursive: true });
  let st: Stats | undefined;
  try {
    st = statSync(file);
  } catch {
    /* a new file */
  }
  if (st?.isDirectory()) throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' });
  if (!st && !existsSync(dirname(file))) throw Object.assign(new Error(`no directory ${dirname(file)}`), { code: 'ENOENT' });
  const db = new Database(file, { timeout: opts.busyMs ?? 15000, nativeBinding: addonPath() });
  try {
    db.pragma('user_version', { simple: true });
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // WAL + NORMAL: durable across crashes of any process, not power loss
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new Registry(db, file);
}

let addon: string | undefined;
/**
 * The compiled addon, named directly: better-sqlite3 otherwise finds it through `bindings`, which
 * probes a dozen paths, and which cannot work once launch is bundled into one file.
 */
function addonPath(): string {
  addon ??= require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  return addon;
}

export class Registry {
  constructor(
    readonly db: Database.Database,
    readonly file: string,
  ) {}

  close(): void {
    this.db.close();
  }

  /** Drops reservations whose TTL has passed. Runs inside every write transaction, and alone for --update. */
  sweep(now = nowSec()): number {
    return this.db.prepare(`DELETE FROM tasks WHERE status = 'RESERVED' AND expires <= ?`).run(now).changes;
  }

  reserve(o: Infos & { unique?: boolean; ttlSec?: number }, now = nowSec()): ReserveResult {
    return this.db
      .transaction((): ReserveResult => {
        this.sweep(now);
        if (o.unique) {
          const holder = this.db.prepare(`SELECT * FROM tasks WHERE name = ? ORDER BY id LIMIT 1`).get(o.name ?? null) as TaskRow | undefined;
          if (holder) return { ok: false, holder: toTask(holder) };
        }
        const r = this.db
          .prepare(`INSERT INTO tasks (name, info1, info2, info3, status, feedback, reservetime, expires) VALUES (?, ?, ?, ?, 'RESERVED', 0, ?, ?)`)
          .run(o.name ?? null, o.info1 ?? null, o.info2 ?? null, o.info3 ?? null, now, now + (o.ttlSec ?? DEFAULT_TTL_SEC));
        return { ok: true, id: Number(r.lastInsertRowid) };
      })
      .immediate();
  }

  /** Reserves and takes a task in one step, for a launch without --taskid. The feedback file is named after the new id. */
  startNew(f: Omit<LaunchFields, 'feedpath'>, feedFileFor: ((id: number) => string) | null, now = nowSec()): number {
    return this.db
      .transaction(() => {
        this.sweep(now);
        const r = this.db
          .prepare(
            `INSERT INTO tasks (name, info1, info2, info3, status, feedback, reservetime, starttime, lastupdate, timeout,
               command, grace, launcher_pid, launcher_start)
             VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(f.name ?? null, f.info1 ?? null, f.info2 ?? null, f.info3 ?? null, feedFileFor ? 1 : 0, now, now, now, f.timeout,
            JSON.stringify(f.command), f.grace, f.launcherPid, f.launcherStart);
        const id = Number(r.lastInsertRowid);
        if (feedFileFor) this.db.prepare(`UPDATE tasks SET feedpath = ? WHERE id = ?`).run(feedFileFor(id), id);
        return id;
      })
      .immediate();
  }

  /** Takes a RESERVED task atomically: of two launchers racing for one id, one gets 'claimed'. */
  claim(id: number, f: LaunchFields, now = nowSec()): ClaimResult {
    return this.db
      .transaction((): ClaimResult => {
        this.sweep(now);
        const r = this.db
          .prepare(
            `UPDATE tasks SET status = 'RUNNING', name = COALESCE(?, name), info1 = COALESCE(?, info1), info2 = COALESCE(?, info2),
               info3 = COALESCE(?, info3), feedback = ?, starttime = ?, lastupdate = ?, timeout = ?, command = ?, feedpath = ?,
               grace = ?, launcher_pid = ?, launcher_start = ?, expires = NULL
             WHERE id = ? AND status = 'RESERVED'`,
          )
          .run(f.name ?? null, f.info1 ?? null, f.info2 ?? null, f.info3 ?? null, f.feedpath ? 1 : 0, now, now, f.timeout,
            JSON.stringify(f.command), f.feedpath, f.grace, f.launcherPid, f.launcherStart, id);
        if (r.changes === 1) return 'claimed';
        return this.task(id) ? 'taken' : 'unknown';
      })
      .immediate();
  }

  setChild(id: number, pid: number, pidStart: number | null): void {
    this.db.prepare(`UPDATE tasks SET pid = ?, pid_start = ? WHERE id = ?`).run(pid, pidStart, id);
  }

  /** The launcher writes its view on every status change; readers derive the live status anyway. */
  setStatus(id: number, status: RecordedStatus, heartbeat: number | null, now = nowSec()): void {
    this.db
      .prepare(`UPDATE tasks SET status = ?, heartbeat = ?, lastupdate = ?, duration = ? - starttime WHERE id = ?`)
      .run(status, heartbeat, now, now, id);
  }

  requestKill(id: number, graceSec: number | null, note: string): void {
    this.db.prepare(`UPDATE tasks SET kill_grace = ?, kill_note = COALESCE(kill_note, ?) WHERE id = ?`).run(graceSec, note, id);
  }

  /** Moves a live task into history and removes its row, in one transaction. */
  archive(id: number, e: ArchivedEnding, now = nowSec()): number | null {
    return this.db
      .transaction(() => {
        const t = this.db.prepare(`SELECT * FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
        if (!t) return null;
        const start = t.starttime ?? t.reservetime;
        const r = this.db
          .prepare(
            `INSERT INTO history (taskid, taskname, info1, info2, info3, termsignal, termerror, starttime, endtime, duration,
               feedback, command, pid, exitcode, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(t.id, t.name, t.info1, t.info2, t.info3, e.termsignal, e.termerror, start, now, start == null ? null : now - start,
            e.feedback ? JSON.stringify(e.feedback) : null, t.command, t.pid, e.exitcode, e.outcome);
        this.db.prepare(`DELETE FROM tasks WHERE id = ?`).run(id);
        return Number(r.lastInsertRowid);
      })
      .immediate();
  }

  task(id: number): Task | undefined {
    const r = this.db.prepare(`SELECT * FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
    return r && toTask(r);
  }

  /** Live rows, without reservations that have lapsed but not been swept yet. */
  liveTasks(now = nowSec()): Task[] {
    return (this.db.prepare(`SELECT * FROM tasks WHERE NOT (status = 'RESERVED' AND expires <= ?) ORDER BY id`).all(now) as TaskRow[]).map(toTask);
  }

  tasksNamed(name: string): Task[] {
    return (this.db.prepare(`SELECT * FROM tasks WHERE name = ? ORDER BY id`).all(name) as TaskRow[]).map(toTask);
  }

  history(o: { limit: number; name?: string }): HistoryRow[] {
    if (o.name !== undefined) {
      return this.db.prepare(`SELECT * FROM history WHERE taskname = ? ORDER BY id DESC LIMIT ?`).all(o.name, o.limit) as HistoryRow[];
    }
    return this.db.prepare(`SELECT * FROM history ORDER BY id DESC LIMIT ?`).all(o.limit) as HistoryRow[];
  }

  historyOf(taskid: number): HistoryRow | undefined {
    return this.db.prepare(`SELECT * FROM history WHERE taskid = ? ORDER BY id DESC LIMIT 1`).get(taskid) as HistoryRow | undefined;
  }

  clearHistory(): number {
    return this.db.prepare(`DELETE FROM history`).run().changes;
  }

  refreshDurations(now = nowSec()): number {
    return this.db.prepare(`UPDATE tasks SET duration = ? - starttime, lastupdate = ? WHERE starttime IS NOT NULL`).run(now, now).changes;
  }

  liveCount(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM tasks`).get() as { n: number }).n;
  }

  recreate(): void {
    recreate(this.db);
  }
}
