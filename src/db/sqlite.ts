import { copyFileSync, constants as fsc, existsSync, fstatSync, linkSync, mkdirSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { foreignTables, migrate, recreate, registryKey, version } from './schema';
import { RegistryError, isBusy } from './errors';
import { watchRegistry } from './changes';
import { addonPath } from './addon';
import { hostName } from '../proc/host';
import type { Infos, LaunchedTask, Pool, PoolOptions, ProcessId, RecordedStatus, Task } from '../task/model';
import {
  ANY_TASK, DEFAULT_TTL_SEC, historyWhere, mayClaimPool, nowSec, toPool, toTask,
  type ArchivedEnding, type ClaimResult, type HistoryFilter, type HistoryPage, type HistoryRow, type LaunchFields, type OpenOptions, type PoolRow, type Registry, type ReserveResult, type TaskRow,
} from './registry';

// The registry in one SQLite file: the default, and all a launcher on one machine loads.

const NO_REGISTRY = 'ENOREGISTRY';

/**
 * Opens and migrates the registry, creating it first if allowed. The first statement is a read,
 * so a file that is not a database fails with SQLITE_NOTADB before anything could write to it,
 * and an SQLite file of another program is refused before a table is added to it.
 */
export function openRegistry(file: string, opts: OpenOptions): SqliteRegistry {
  let st;
  try {
    st = statSync(file);
  } catch {
    /* missing */
  }
  if (st?.isDirectory()) throw new RegistryError(`${file} is a directory, not a database file`, 'EISDIR');
  if (!st) {
    if (!opts.create) throw new RegistryError(`there is no registry at ${file}; launch or control --reserve creates it`, NO_REGISTRY);
    if (opts.mkdirs) mkdirSync(dirname(file), { recursive: true });
    if (!existsSync(dirname(file))) throw Object.assign(new Error(`no directory ${dirname(file)}`), { code: 'ENOENT' });
    createAtomically(file);
  }
  const db = new Database(file, { fileMustExist: true, timeout: opts.busyMs ?? 15000, nativeBinding: addonPath() });
  try {
    if (version(db) === 0 || !hasMeta(db)) {
      const foreign = foreignTables(db);
      if (foreign) {
        throw new RegistryError(`${file} is an SQLite database of another program (it holds ${foreign.slice(0, 5).join(', ')}), not a taskwatch registry; pass another --db`, 'FOREIGN');
      }
    }
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') retryBusy(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = NORMAL'); // WAL + NORMAL: durable across crashes of any process, not power loss
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteRegistry(db, file);
}

const hasMeta = (db: Database.Database) => db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'meta'`).get() !== undefined;

/**
 * A new registry is made whole under a private name and linked into place, so that launchers racing
 * to create one never see a half-made file nor contend for its first schema (link never replaces
 * a file another process linked first).
 */
function createAtomically(file: string): void {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.new`;
  try {
    const db = new Database(tmp, { nativeBinding: addonPath() });
    try {
      db.pragma('journal_mode = WAL');
      migrate(db);
    } finally {
      db.close();
    }
    try {
      linkSync(tmp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return; // another process made it first: use theirs
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      // A file system without hard links: copy, never over an existing file.
      try {
        copyFileSync(tmp, file, fsc.COPYFILE_EXCL);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
  } finally {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  }
}

/** Changing the journal mode needs the file to itself for a moment; other openers may hold it. */
function retryBusy<T>(f: () => T): T {
  for (let i = 0; ; i++) {
    try {
      return f();
    } catch (err) {
      if (!isBusy(err) || i >= 50) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + i * 10);
    }
  }
}

/** dev:inode of the file this process has open at `file` (found through /proc/self/fd), else of the path now. */
function handleIdentity(file: string): string | null {
  try {
    const real = realpathSync(file);
    for (const fd of readdirSync('/proc/self/fd')) {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== real) continue;
      const st = fstatSync(Number(fd));
      return `${st.dev}:${st.ino}`;
    }
  } catch {
    /* no /proc: fall back to the path */
  }
  return pathIdentity(file);
}

function pathIdentity(file: string): string | null {
  try {
    const st = statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

// A history row's entry (src/control/entries.ts: historyEntry) as JSON text, built by SQLite: 100,000
// rows print in a fifth of the time JavaScript objects take (better-sqlite3 makes an object of every
// row, its feedback a Buffer). Only for plain rows (src/db/schema.ts: PLAIN, checked as each row is
// written); any other gives its id between two ODD marks, and is mapped by historyEntry itself.
// tests/history.test.ts holds the two equal on such rows. Numbers print with 17 digits where
// JavaScript prints the shortest: the same double either way.
// ODD_MARK is char(1): JSON escapes every control character, so no entry's text holds one.
const ODD_MARK = '\x01';
const ODD = `char(${ODD_MARK.charCodeAt(0)})`;
const ENTRY_JSON = `CASE WHEN plain THEN json_object('id', id, 'taskid', taskid, 'name', taskname, 'info1', info1, 'info2', info2,
  'info3', info3, 'command', json(command), 'pid', pid, 'starttime', starttime, 'endtime', endtime, 'duration', duration,
  'outcome', outcome, 'exitcode', exitcode, 'termsignal', termsignal, 'termerror', termerror,
  'feedback', json(ifnull(CAST(feedback AS TEXT), '{}')), 'run', ifnull(run, 1), 'status', status, 'host', host)
  ELSE ${ODD} || id || ${ODD} END`;

export class SqliteRegistry implements Registry {
  readonly kind = 'sqlite';
  readonly locks = false;
  /** Random, made with the file: it makes feedback file names and process marks unique to this registry. */
  readonly key: string;
  readonly home: string;
  private readonly identity: string | null;
  private readonly killListeners = new Set<(id: number) => void>();
  private stopKillWatch: (() => void) | null = null;

  constructor(
    readonly db: Database.Database,
    readonly file: string,
  ) {
    this.key = registryKey(db);
    this.home = dirname(file);
    this.identity = handleIdentity(file);
  }

  get dbArg(): string {
    return this.file;
  }

  watch(onChange: () => void): () => void {
    return watchRegistry(this.file, onChange);
  }

  /**
   * The file cannot say which task a change was for: every change calls `onKill` with ANY_TASK, and
   * the listener reads its own tasks' requests. (A plain launcher never listens on SQLite: control
   * signals it. A pool's supervisor, which watches many tasks, does: one watch of the file serves all
   * its instances.)
   */
  onKillRequest(onKill: (id: number) => void): () => void {
    this.killListeners.add(onKill);
    this.stopKillWatch ??= watchRegistry(this.file, () => this.killListeners.forEach((f) => f(ANY_TASK)));
    return () => {
      if (this.killListeners.delete(onKill) && this.killListeners.size === 0) this.unwatchKills();
    };
  }

  private unwatchKills(): void {
    this.stopKillWatch?.();
    this.stopKillWatch = null;
  }

  close(): void {
    this.unwatchKills();
    this.db.close();
  }

  /**
   * False once the file at this path is no longer the one this handle writes to (deleted, or
   * replaced): writing on would put every ending into a file nobody can open.
   */
  stillAtPath(): boolean {
    return this.identity === null || pathIdentity(this.file) === this.identity;
  }

  /** How long statements wait for another writer; the launcher's watch never waits (status writes are advice). */
  setBusyTimeout(ms: number): void {
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(ms))}`);
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
          if (holder) return { ok: false, holder: toTask(holder, this.key) };
        }
        const r = this.db
          .prepare(`INSERT INTO tasks (name, info1, info2, info3, status, feedback, reservetime, expires) VALUES (?, ?, ?, ?, 'RESERVED', 0, ?, ?)`)
          .run(o.name ?? null, o.info1 ?? null, o.info2 ?? null, o.info3 ?? null, now, now + (o.ttlSec ?? DEFAULT_TTL_SEC));
        return { ok: true, id: Number(r.lastInsertRowid) };
      })
      .immediate();
  }

  /** Reserves and takes a task in one step, for a launch without --taskid. */
  startNew(f: LaunchFields, now = nowSec()): LaunchedTask {
    return this.db
      .transaction(() => {
        this.sweep(now);
        const r = this.db
          .prepare(
            `INSERT INTO tasks (name, info1, info2, info3, status, feedback, reservetime, starttime, lastupdate, timeout, max_time,
               command, feeddir, grace, launcher_pid, launcher_start, restart, max_restarts, backoff_min, backoff_max, log_out, log_err,
               pool, instance, host)
             VALUES (?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(f.name ?? null, f.info1 ?? null, f.info2 ?? null, f.info3 ?? null, f.feedDir ? 1 : 0, now, now, now, f.timeoutSec, f.maxTimeSec,
            JSON.stringify(f.command), f.feedDir, f.graceSec, f.launcher.pid, f.launcher.start, f.rule.policy, f.rule.maxRestarts,
            f.rule.backoffMinSec, f.rule.backoffMaxSec, f.logs.stdout, f.logs.stderr, f.pool?.name ?? null, f.pool?.instance ?? null, hostName());
        return this.launched(Number(r.lastInsertRowid));
      })
      .immediate();
  }

  /** Takes a RESERVED task atomically: of two launchers racing for one id, one gets it. */
  claim(id: number, f: LaunchFields, now = nowSec()): ClaimResult {
    return this.db
      .transaction((): ClaimResult => {
        this.sweep(now);
        const r = this.db
          .prepare(
            `UPDATE tasks SET status = 'RUNNING', name = COALESCE(?, name), info1 = COALESCE(?, info1), info2 = COALESCE(?, info2),
               info3 = COALESCE(?, info3), feedback = ?, starttime = ?, lastupdate = ?, timeout = ?, max_time = ?, command = ?,
               feeddir = ?, grace = ?, launcher_pid = ?, launcher_start = ?, restart = ?, max_restarts = ?, backoff_min = ?,
               backoff_max = ?, log_out = ?, log_err = ?, host = ?, expires = NULL
             WHERE id = ? AND status = 'RESERVED'`,
          )
          .run(f.name ?? null, f.info1 ?? null, f.info2 ?? null, f.info3 ?? null, f.feedDir ? 1 : 0, now, now, f.timeoutSec, f.maxTimeSec,
            JSON.stringify(f.command), f.feedDir, f.graceSec, f.launcher.pid, f.launcher.start, f.rule.policy, f.rule.maxRestarts,
            f.rule.backoffMinSec, f.rule.backoffMaxSec, f.logs.stdout, f.logs.stderr, hostName(), id);
        if (r.changes === 1) return { claimed: this.launched(id) };
        return this.task(id) ? 'taken' : 'unknown';
      })
      .immediate();
  }

  private launched(id: number): LaunchedTask {
    const t = this.task(id);
    if (!t || t.state === 'RESERVED') throw new Error(`task ${id} vanished inside its own transaction`);
    return t;
  }

  /** Records the child, the process group it leads (null with --foreground) and the cgroup that contains it, if any. */
  setChild(id: number, leader: ProcessId, pgid: number | null, cgroup: string | null): void {
    this.db.prepare(`UPDATE tasks SET pid = ?, pid_start = ?, pgid = ?, cgroup = ? WHERE id = ?`).run(leader.pid, leader.start, pgid, cgroup, id);
  }

  /** The launcher writes its view on every status change; readers derive the live status anyway. */
  setStatus(id: number, status: RecordedStatus, heartbeat: number | null, now = nowSec()): void {
    this.db
      .prepare(`UPDATE tasks SET status = ?, heartbeat = ?, lastupdate = ?, duration = ? - starttime WHERE id = ? AND status != 'RESERVED'`)
      .run(status, heartbeat, now, now, id);
  }

  /** Leaves control --kill's note and grace for the launcher, unless an earlier request's note is there. */
  requestKill(id: number, graceSec: number | null, note: string): void {
    this.db.prepare(`UPDATE tasks SET kill_grace = ?, kill_note = COALESCE(kill_note, ?) WHERE id = ?`).run(graceSec, note, id);
  }

  /** Takes back a request whose signal could not be sent, so that a later kill is credited to whoever sends it. */
  withdrawKill(id: number, note: string): void {
    this.db.prepare(`UPDATE tasks SET kill_grace = NULL, kill_note = NULL WHERE id = ? AND kill_note = ?`).run(id, note);
  }

  /**
   * Puts one run of a task into history, from the copy its watcher holds. The last run (`restart`
   * null) also removes the task's row, if the row is still that task's: an ending is recorded even
   * when the row was dropped (--initialize --force) or the registry was replaced under the watcher.
   * Otherwise the row waits for the next run (BACKOFF, until `restart.at`). One run is archived
   * once: a history row with the same task id and start time means someone already did.
   * Returns the history id, or null.
   */
  archive(t: LaunchedTask, e: ArchivedEnding, restart: { at: number } | null = null): number | null {
    return this.db
      .transaction(() => {
        const row = this.db.prepare(`SELECT launcher_pid, launcher_start FROM tasks WHERE id = ?`).get(t.id) as
          | { launcher_pid: number | null; launcher_start: number | null }
          | undefined;
        const ours = row !== undefined && row.launcher_pid === (t.launcher?.pid ?? null) && row.launcher_start === (t.launcher?.start ?? null);
        if (!ours && this.db.prepare(`SELECT 1 FROM history WHERE taskid = ? AND starttime = ?`).get(t.id, t.startedAt)) return null;
        const r = this.db
          .prepare(
            `INSERT INTO history (taskid, taskname, info1, info2, info3, termsignal, termerror, starttime, endtime, duration,
               feedback, command, pid, exitcode, outcome, run, status, log_out, log_err, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(t.id, t.name, t.info1, t.info2, t.info3, e.termsignal, e.termerror, t.startedAt, e.endedAt, Math.max(0, e.endedAt - t.startedAt),
            e.feedback ? JSON.stringify(e.feedback) : null, JSON.stringify(t.command), t.leader?.pid ?? null, e.exitcode, e.outcome, t.run, e.status,
            t.logs.stdout, t.logs.stderr, t.host);
        if (ours && restart === null) this.db.prepare(`DELETE FROM tasks WHERE id = ?`).run(t.id);
        if (ours && restart !== null) {
          this.db
            .prepare(
              `UPDATE tasks SET status = 'BACKOFF', run = run + 1, restarts = restarts + 1, last_outcome = ?, next_start = ?, pid = NULL,
                 pid_start = NULL, pgid = NULL, cgroup = NULL, heartbeat = NULL, lastupdate = ? WHERE id = ?`,
            )
            .run(e.outcome, restart.at, e.endedAt, t.id);
        }
        // In a registry that did not issue this id (it was replaced), it must never issue it later.
        this.db.prepare(`UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'tasks'`).run(t.id);
        return Number(r.lastInsertRowid);
      })
      .immediate();
  }

  /** Starts the next run of a task waiting in BACKOFF; undefined when the row is gone or no longer this launcher's. */
  beginRun(t: LaunchedTask, now = nowSec()): LaunchedTask | undefined {
    const r = this.db
      .prepare(
        `UPDATE tasks SET status = 'RUNNING', starttime = ?, lastupdate = ?, next_start = NULL
         WHERE id = ? AND status = 'BACKOFF' AND launcher_pid = ? AND launcher_start = ?`,
      )
      .run(now, now, t.id, t.launcher?.pid ?? null, t.launcher?.start ?? null);
    if (r.changes !== 1) return undefined;
    const next = this.task(t.id);
    return next && next.state !== 'RESERVED' ? next : undefined;
  }

  /** Ends a task between runs for good (killed while waiting to restart): its row goes, and its last run's record says why. */
  endBetweenRuns(t: LaunchedTask, note: string): void {
    this.db
      .transaction(() => {
        this.db.prepare(`DELETE FROM tasks WHERE id = ? AND launcher_pid = ? AND launcher_start = ?`).run(t.id, t.launcher?.pid ?? null, t.launcher?.start ?? null);
        this.db
          .prepare(`UPDATE history SET termerror = COALESCE(termerror || '; ', '') || ? WHERE id = (SELECT MAX(id) FROM history WHERE taskid = ?)`)
          .run(note, t.id);
      })
      .immediate();
  }

  pool(name: string): Pool | undefined {
    const r = this.db.prepare(`SELECT * FROM pools WHERE name = ?`).get(name) as PoolRow | undefined;
    return r && toPool(r);
  }

  pools(): Pool[] {
    return (this.db.prepare(`SELECT * FROM pools ORDER BY name`).all() as PoolRow[]).map((r) => toPool(r));
  }

  /** Creates a pool, or changes how many instances it wants; the command and options are the pool's from its creation. */
  scalePool(name: string, desired: number, def: { command: string[]; options: PoolOptions } | null, now = nowSec()): { created: boolean } | { missing: true } {
    return this.db
      .transaction(() => {
        const r = this.db.prepare(`UPDATE pools SET desired = ? WHERE name = ?`).run(desired, name);
        if (r.changes === 1) return { created: false };
        if (!def) return { missing: true as const };
        this.db.prepare(`INSERT INTO pools (name, desired, command, options, created) VALUES (?, ?, ?, ?, ?)`)
          .run(name, desired, JSON.stringify(def.command), JSON.stringify(def.options), now);
        return { created: true };
      })
      .immediate();
  }

  /** Takes the pool for this supervisor, unless a live one (`alive`) holds it. */
  claimPool(name: string, me: ProcessId, alive: (p: ProcessId) => boolean, now = nowSec()): boolean {
    return this.db
      .transaction(() => {
        const p = this.pool(name);
        if (!mayClaimPool(p, me, alive)) return false;
        this.db.prepare(`UPDATE pools SET supervisor_pid = ?, supervisor_start = ?, supervised_since = ? WHERE name = ?`).run(me.pid, me.start, now, name);
        return true;
      })
      .immediate();
  }

  releasePool(name: string, me: ProcessId): void {
    this.db.prepare(`UPDATE pools SET supervisor_pid = NULL, supervisor_start = NULL, supervised_since = NULL WHERE name = ? AND supervisor_pid = ? AND supervisor_start = ?`)
      .run(name, me.pid, me.start);
  }

  /** Counts what happened to an instance's run (dead, stalled, restarted). */
  countPool(name: string, c: { dead?: number; stalled?: number; restarts?: number }): void {
    this.db.prepare(`UPDATE pools SET dead = dead + ?, stalled = stalled + ?, restarts = restarts + ? WHERE name = ?`)
      .run(c.dead ?? 0, c.stalled ?? 0, c.restarts ?? 0, name);
  }

  deletePool(name: string): boolean {
    return this.db.prepare(`DELETE FROM pools WHERE name = ?`).run(name).changes === 1;
  }

  poolTasks(name: string): Task[] {
    return (this.db.prepare(`SELECT * FROM tasks WHERE pool = ? ORDER BY instance, id`).all(name) as TaskRow[]).map((r) => toTask(r, this.key));
  }

  task(id: number): Task | undefined {
    const r = this.db.prepare(`SELECT * FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
    return r && toTask(r, this.key);
  }

  /** Live rows, without reservations that have lapsed but not been swept yet. */
  liveTasks(now = nowSec()): Task[] {
    return (this.db.prepare(`SELECT * FROM tasks WHERE NOT (status = 'RESERVED' AND expires <= ?) ORDER BY id`).all(now) as TaskRow[]).map((r) => toTask(r, this.key));
  }

  tasksNamed(name: string): Task[] {
    return (this.db.prepare(`SELECT * FROM tasks WHERE name = ? ORDER BY id`).all(name) as TaskRow[]).map((r) => toTask(r, this.key));
  }

  /** History newest first, `limit` rows from `offset`, of the rows the filter matches. */
  history(o: HistoryFilter & { limit: number; offset?: number }): HistoryRow[] {
    const { w, args } = historyWhere(o);
    return this.db.prepare(`SELECT * FROM history ${w} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, o.limit, o.offset ?? 0) as HistoryRow[];
  }

  historyJson(o: HistoryFilter & { limit: number }): HistoryPage {
    const { w, args } = historyWhere(o);
    // One string per page, not one per row: making 2,000 JavaScript strings cost more than building them.
    // group_concat takes the rows in the order the subquery gives them (tests/history.test.ts checks it).
    const [count, lowest, text] = this.db
      .prepare(`SELECT count(*), min(id), group_concat(entry, ',') FROM (SELECT id, ${ENTRY_JSON} AS entry FROM history ${w} ORDER BY id DESC LIMIT ?)`)
      .raw(true)
      .get(...args, o.limit) as [number, number | null, string | null];
    if (lowest === null || text === null) return { items: [], count: 0, lowest: null };
    // Odd rows split the text: ',' + ODD id ODD + ',' between plain runs (a page without one is one part).
    let odd: Database.Statement | undefined; // prepared only for a page that has an odd row
    const items: Array<string | HistoryRow> = [];
    text.split(ODD_MARK).forEach((part, i) => {
      if (i % 2 === 1) {
        const row = (odd ??= this.db.prepare(`SELECT * FROM history WHERE id = ?`)).get(Number(part)) as HistoryRow | undefined; // undefined: cleared since
        if (row) items.push(row);
        return;
      }
      const json = part.slice(part.startsWith(',') ? 1 : 0, part.endsWith(',') ? -1 : undefined);
      if (json !== '') items.push(json);
    });
    return { items, count, lowest };
  }

  /** Every row archived after row `id`, oldest first. */
  historyAfter(id: number): HistoryRow[] {
    return this.db.prepare(`SELECT * FROM history WHERE id > ? ORDER BY id`).all(id) as HistoryRow[];
  }

  historyOf(taskid: number): HistoryRow | undefined {
    return this.db.prepare(`SELECT * FROM history WHERE taskid = ? ORDER BY id DESC LIMIT 1`).get(taskid) as HistoryRow | undefined;
  }

  /** Deletes a reservation that was never launched; false when it is not (or no longer) a reservation. */
  release(id: number): boolean {
    return this.db.prepare(`DELETE FROM tasks WHERE id = ? AND status = 'RESERVED'`).run(id).changes === 1;
  }

  /** How many history rows the filter matches (all of them without one). */
  historyCount(f: HistoryFilter = {}): number {
    const { w, args } = historyWhere(f);
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM history ${w}`).get(...args) as { n: number }).n;
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
