import { existsSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, recreate } from './schema';
import type { Outcome } from '../outcome';

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

export interface Infos {
  name?: string;
  info1?: string;
  info2?: string;
  info3?: string;
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

export interface Ending {
  outcome: Outcome;
  exitcode: number | null;
  termsignal: string | null;
  termerror: string | null;
  feedback: Record<string, string> | null;
}

export type ReserveResult = { ok: true; id: number } | { ok: false; holder: TaskRow };
export type ClaimResult = 'claimed' | 'unknown' | 'taken';

export const DEFAULT_TTL_SEC = 300;
export const nowSec = (): number => Date.now() / 1000;

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
          if (holder) return { ok: false, holder };
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
  setStatus(id: number, status: string, heartbeat: number | null, now = nowSec()): void {
    this.db
      .prepare(`UPDATE tasks SET status = ?, heartbeat = ?, lastupdate = ?, duration = ? - starttime WHERE id = ?`)
      .run(status, heartbeat, now, now, id);
  }

  requestKill(id: number, graceSec: number | null, note: string): void {
    this.db.prepare(`UPDATE tasks SET kill_grace = ?, kill_note = COALESCE(kill_note, ?) WHERE id = ?`).run(graceSec, note, id);
  }

  /** Moves a live task into history and removes its row, in one transaction. */
  archive(id: number, e: Ending, now = nowSec()): number | null {
    return this.db
      .transaction(() => {
        const t = this.task(id);
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

  task(id: number): TaskRow | undefined {
    return this.db.prepare(`SELECT * FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
  }

  /** Live rows, without reservations that have lapsed but not been swept yet. */
  liveTasks(now = nowSec()): TaskRow[] {
    return this.db
      .prepare(`SELECT * FROM tasks WHERE NOT (status = 'RESERVED' AND expires <= ?) ORDER BY id`)
      .all(now) as TaskRow[];
  }

  tasksNamed(name: string): TaskRow[] {
    return this.db.prepare(`SELECT * FROM tasks WHERE name = ? ORDER BY id`).all(name) as TaskRow[];
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
