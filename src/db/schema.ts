import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';

/**
 * A history row is plain when its command is a JSON array of strings (or none) and its feedback a JSON
 * object of strings (or none), as launch writes them: for such a row, SQLite's JSON of the two is what
 * historyEntry makes of them. Any other row (from taskwatcher 1.x, or edited) is mapped by historyEntry.
 * Triggers keep it true whoever writes the row (recursive triggers are off: their own UPDATE does not
 * fire them again).
 */
const FEEDBACK_TEXT = `CAST(feedback AS TEXT)`;
// A CASE, as a condition: only there does SQLite's AND stop at the first false (json_type of text that
// is not JSON is an error).
const PLAIN = `CASE WHEN (command IS NULL OR (json_valid(command) AND json_type(command) = 'array'
    AND NOT EXISTS (SELECT 1 FROM json_each(command) WHERE type <> 'text')))
  AND (feedback IS NULL OR (json_valid(${FEEDBACK_TEXT}) AND json_type(${FEEDBACK_TEXT}) = 'object'
    AND NOT EXISTS (SELECT 1 FROM json_each(${FEEDBACK_TEXT}) WHERE type <> 'text'))) THEN 1 ELSE 0 END`;

// Ordered migrations; PRAGMA user_version is the number applied. Migration 1 is the original
// taskwatcher's schema, so a file the Python tool made opens and is carried forward.
const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  // 1: the original taskwatcher 1.2 tables.
  (db) =>
    db.exec(`
      CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, name TEXT, info1 TEXT, info2 TEXT, info3 TEXT,
        pid INTEGER, status TEXT, feedback INTEGER, reservetime INTEGER, starttime INTEGER, duration INTEGER,
        lastupdate INTEGER, timeout INTEGER);
      CREATE TABLE IF NOT EXISTS feedbacks (id INTEGER, feedback BLOB, lastupdate INTEGER);
      CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY, taskid INTEGER, taskname TEXT, info1 TEXT,
        info2 TEXT, info3 TEXT, termsignal TEXT, termerror TEXT, starttime INTEGER, endtime INTEGER,
        duration INTEGER, feedback BLOB);`),
  // 2: ids that are never reused (AUTOINCREMENT, seeded above every id the file has seen),
  // what the watcher needs to find and prove its processes, and typed endings in history.
  (db) => {
    db.exec(`
      CREATE TABLE tasks_v2 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT, info1 TEXT, info2 TEXT, info3 TEXT,
        pid INTEGER,                 -- the child, leader of the task's process group
        status TEXT NOT NULL,        -- RESERVED, or as last written by the launcher
        feedback INTEGER NOT NULL DEFAULT 0,
        reservetime REAL, starttime REAL, duration REAL, lastupdate REAL, timeout REAL,
        expires REAL,                -- when an unlaunched reservation lapses
        pid_start INTEGER,           -- the child's start time (/proc/PID/stat field 22)
        launcher_pid INTEGER, launcher_start INTEGER,
        command TEXT,                -- JSON argv
        feedpath TEXT,               -- the feedback file's absolute path
        grace REAL,
        heartbeat REAL,              -- last heartbeat the launcher knew of (survives a deleted file)
        kill_grace REAL, kill_note TEXT -- set by control --kill before it signals the launcher
      );
      INSERT INTO tasks_v2 (id, name, info1, info2, info3, pid, status, feedback, reservetime, starttime,
        duration, lastupdate, timeout, expires)
        SELECT id, name, info1, info2, info3, pid, COALESCE(status, 'RESERVED'), COALESCE(feedback, 0),
          reservetime, starttime, duration, lastupdate, timeout, reservetime + 300 FROM tasks;
      DROP TABLE tasks;
      ALTER TABLE tasks_v2 RENAME TO tasks;
      DROP TABLE feedbacks;
      ALTER TABLE history ADD COLUMN command TEXT;
      ALTER TABLE history ADD COLUMN pid INTEGER;
      ALTER TABLE history ADD COLUMN exitcode INTEGER;
      ALTER TABLE history ADD COLUMN outcome TEXT;
      CREATE INDEX tasks_name ON tasks(name);
      CREATE INDEX history_taskid ON history(taskid);
      CREATE INDEX history_taskname ON history(taskname);
      -- The copy above left a sequence row for the renamed table; replace it with one above every id seen.
      DELETE FROM sqlite_sequence WHERE name = 'tasks';
      INSERT INTO sqlite_sequence (name, seq)
        SELECT 'tasks', MAX(COALESCE((SELECT MAX(id) FROM tasks), 0), COALESCE((SELECT MAX(taskid) FROM history), 0));`);
  },
  // 3: a key that makes feedback file names and process marks unique to this registry; the
  // feedback directory instead of a path (the file name is derived, never read back from the row);
  // --max-time and the task's cgroup, so that control can enforce a lost launcher's limits.
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta (key, value) VALUES ('registry_key', lower(hex(randomblob(4))));
      ALTER TABLE tasks ADD COLUMN feeddir TEXT;
      ALTER TABLE tasks ADD COLUMN max_time REAL;
      ALTER TABLE tasks ADD COLUMN pgid INTEGER;   -- the task's own process group; NULL with --foreground
      ALTER TABLE tasks ADD COLUMN cgroup TEXT;    -- the task's cgroup, when contained in one`);
    const rows = db.prepare(`SELECT id, feedpath FROM tasks WHERE feedpath IS NOT NULL`).all() as Array<{ id: number; feedpath: string }>;
    const set = db.prepare(`UPDATE tasks SET feeddir = ? WHERE id = ?`);
    for (const r of rows) set.run(dirname(r.feedpath), r.id);
    db.exec(`ALTER TABLE tasks DROP COLUMN feedpath;`);
  },
  // 4: restarts (a task keeps its id across runs; each run is its own history row, numbered),
  // output logs, and pools: N instances of a command, each an ordinary task, kept by one supervisor.
  (db) =>
    db.exec(`
      CREATE TABLE pools (
        name TEXT PRIMARY KEY,
        desired INTEGER NOT NULL,
        command TEXT NOT NULL,                  -- JSON argv
        options TEXT NOT NULL,                  -- JSON: heartbeat, grace, restart rule, log caps
        created REAL NOT NULL,
        supervisor_pid INTEGER, supervisor_start INTEGER, supervised_since REAL,
        dead INTEGER NOT NULL DEFAULT 0,        -- instance runs that ended other than by a stop
        stalled INTEGER NOT NULL DEFAULT 0,     -- of those, ended for a heartbeat timeout
        restarts INTEGER NOT NULL DEFAULT 0
      );
      ALTER TABLE tasks ADD COLUMN pool TEXT;
      ALTER TABLE tasks ADD COLUMN instance INTEGER;
      CREATE INDEX tasks_pool ON tasks(pool);
      ALTER TABLE tasks ADD COLUMN restart TEXT NOT NULL DEFAULT 'no';  -- no, on-failure, always
      ALTER TABLE tasks ADD COLUMN max_restarts INTEGER;                -- NULL: no limit
      ALTER TABLE tasks ADD COLUMN backoff_min REAL NOT NULL DEFAULT 0.1;
      ALTER TABLE tasks ADD COLUMN backoff_max REAL NOT NULL DEFAULT 30;
      ALTER TABLE tasks ADD COLUMN run INTEGER NOT NULL DEFAULT 1;      -- the run now going, or next
      ALTER TABLE tasks ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tasks ADD COLUMN last_outcome TEXT;                   -- of the run before this one
      ALTER TABLE tasks ADD COLUMN next_start REAL;                     -- while BACKOFF: when it runs again
      ALTER TABLE tasks ADD COLUMN log_out TEXT;                        -- --log: where stdout goes (NULL: inherited)
      ALTER TABLE tasks ADD COLUMN log_err TEXT;
      ALTER TABLE history ADD COLUMN run INTEGER;
      ALTER TABLE history ADD COLUMN status INTEGER;                    -- launch's exit status for the run
      ALTER TABLE history ADD COLUMN log_out TEXT;
      ALTER TABLE history ADD COLUMN log_err TEXT;`),
  // 5: the host a task runs on (TASKWATCH_HOST, else the hostname), for registries shared by several.
  (db) =>
    db.exec(`
      ALTER TABLE tasks ADD COLUMN host TEXT;      -- set when the task is launched; NULL while reserved
      ALTER TABLE history ADD COLUMN host TEXT;`),
  // 6: which history rows SQLite may print as JSON itself (src/db/sqlite.ts, historyJson): checked once,
  // when the row is written, instead of on every listing (a third of --history --json's time at 100k rows).
  (db) =>
    db.exec(`
      ALTER TABLE history ADD COLUMN plain INTEGER;
      UPDATE history SET plain = ${PLAIN};
      CREATE TRIGGER history_plain_insert AFTER INSERT ON history
        BEGIN UPDATE history SET plain = ${PLAIN} WHERE id = NEW.id; END;
      CREATE TRIGGER history_plain_update AFTER UPDATE OF command, feedback, plain ON history
        BEGIN UPDATE history SET plain = ${PLAIN} WHERE id = NEW.id; END;`),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the file up to SCHEMA_VERSION. Many processes may open a new file at once, so the
 * version is read again inside an IMMEDIATE transaction: only one of them migrates.
 */
export function migrate(db: Database): void {
  if (version(db) === SCHEMA_VERSION) return;
  db.transaction(() => {
    const from = version(db);
    if (from > SCHEMA_VERSION) {
      throw Object.assign(new Error(`schema version ${from} is newer than this taskwatch (${SCHEMA_VERSION}); upgrade taskwatch`), {
        code: 'TASKWATCH_NEWER',
      });
    }
    for (let v = from; v < SCHEMA_VERSION; v++) MIGRATIONS[v](db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

export function version(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Drops and recreates every table in one transaction, keeping the id sequence so ids stay unique,
 * and the registry key, so that the feedback files and processes of tasks still running stay theirs.
 */
export function recreate(db: Database): void {
  db.transaction(() => {
    const seq = (db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'tasks'`).get() as { seq: number } | undefined)?.seq ?? 0;
    const maxHist = (db.prepare('SELECT MAX(taskid) AS m FROM history').get() as { m: number | null }).m ?? 0;
    const key = registryKey(db);
    db.exec('DROP TABLE IF EXISTS tasks; DROP TABLE IF EXISTS history; DROP TABLE IF EXISTS feedbacks; DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS pools;');
    db.prepare(`DELETE FROM sqlite_sequence`).run();
    db.pragma('user_version = 0');
    for (const m of MIGRATIONS) m(db);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.prepare(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'tasks'`).run(Math.max(seq, maxHist));
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'registry_key'`).run(key);
  }).immediate();
}

export function registryKey(db: Database): string {
  return (db.prepare(`SELECT value FROM meta WHERE key = 'registry_key'`).get() as { value: string }).value;
}

/** The tables a file of each schema version must hold; anything else is another program's database. */
export function foreignTables(db: Database): string[] | null {
  const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as Array<{ name: string }>).map((r) => r.name);
  if (names.length === 0) return null; // a new, empty file
  return names.includes('tasks') && names.includes('history') ? null : names;
}
