// The registry's tables on PostgreSQL: the same columns as SQLite's (so one row type serves both),
// versioned in meta.schema_version. Every change to tasks, history or pools NOTIFYs 'taskwatch'
// at commit, which is what watchers LISTEN to instead of inotify on a file.

export const CHANGES = 'taskwatch';
export const KILLS = 'taskwatch_kill';

/** Ordered migrations; meta.schema_version is the number applied. */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the registry as SQLite's schema 5 has it, with a notifying trigger on each table.
  `
  CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
  INSERT INTO meta (key, value) VALUES ('registry_key', substr(md5(random()::text || clock_timestamp()::text), 1, 8));
  CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    name text, info1 text, info2 text, info3 text,
    pid integer, status text NOT NULL, feedback integer NOT NULL DEFAULT 0,
    reservetime double precision, starttime double precision, duration double precision, lastupdate double precision,
    timeout double precision, expires double precision,
    pid_start bigint, launcher_pid integer, launcher_start bigint,
    command text, grace double precision, heartbeat double precision,
    kill_grace double precision, kill_note text,
    feeddir text, max_time double precision, pgid integer, cgroup text,
    pool text, instance integer,
    restart text NOT NULL DEFAULT 'no', max_restarts integer,
    backoff_min double precision NOT NULL DEFAULT 0.1, backoff_max double precision NOT NULL DEFAULT 30,
    run integer NOT NULL DEFAULT 1, restarts integer NOT NULL DEFAULT 0, last_outcome text, next_start double precision,
    log_out text, log_err text, host text
  );
  CREATE INDEX tasks_name ON tasks(name);
  CREATE INDEX tasks_pool ON tasks(pool);
  CREATE TABLE history (
    id bigserial PRIMARY KEY,
    taskid bigint, taskname text, info1 text, info2 text, info3 text,
    termsignal text, termerror text, starttime double precision, endtime double precision, duration double precision,
    feedback text, command text, pid integer, exitcode integer, outcome text, run integer, status integer,
    log_out text, log_err text, host text
  );
  CREATE INDEX history_taskid ON history(taskid);
  CREATE INDEX history_taskname ON history(taskname);
  CREATE TABLE pools (
    name text PRIMARY KEY, desired integer NOT NULL, command text NOT NULL, options text NOT NULL, created double precision NOT NULL,
    supervisor_pid integer, supervisor_start bigint, supervised_since double precision,
    dead integer NOT NULL DEFAULT 0, stalled integer NOT NULL DEFAULT 0, restarts integer NOT NULL DEFAULT 0
  );
  CREATE FUNCTION taskwatch_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('${CHANGES}', TG_TABLE_NAME); RETURN NULL; END $$;
  CREATE TRIGGER tasks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tasks FOR EACH STATEMENT EXECUTE FUNCTION taskwatch_changed();
  CREATE TRIGGER history_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON history FOR EACH STATEMENT EXECUTE FUNCTION taskwatch_changed();
  CREATE TRIGGER pools_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pools FOR EACH STATEMENT EXECUTE FUNCTION taskwatch_changed();
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The columns lists carry, in order: rows travel as JSON arrays (half the bytes of objects, built twice as fast). */
export const TASK_COLUMNS = [
  'id', 'name', 'info1', 'info2', 'info3', 'pid', 'status', 'feedback', 'reservetime', 'starttime', 'duration', 'lastupdate',
  'timeout', 'expires', 'pid_start', 'launcher_pid', 'launcher_start', 'command', 'grace', 'heartbeat', 'kill_grace', 'kill_note',
  'feeddir', 'max_time', 'pgid', 'cgroup', 'pool', 'instance', 'restart', 'max_restarts', 'backoff_min', 'backoff_max', 'run',
  'restarts', 'last_outcome', 'next_start', 'log_out', 'log_err', 'host', 'held',
] as const;
export const HISTORY_COLUMNS = [
  'id', 'taskid', 'taskname', 'info1', 'info2', 'info3', 'termsignal', 'termerror', 'starttime', 'endtime', 'duration',
  'feedback', 'command', 'pid', 'exitcode', 'outcome', 'run', 'status', 'log_out', 'log_err', 'host',
] as const;

/**
 * A function from such an array to the row object, made once from the constant names above (never
 * from data): a literal with fixed keys, which V8 builds and reads fast.
 */
export function rowMaker<T>(columns: readonly string[]): (a: unknown[]) => T {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('a', `return { ${columns.map((c, i) => `${c}: a[${i}]`).join(', ')} };`) as (a: unknown[]) => T;
}

/**
 * The first key of the advisory locks this registry's launchers hold (the second is the task id):
 * from the registry key, so two registries in one database never share a lock. Positive, 28 bits.
 */
export const lockSpace = (key: string): number => parseInt(key.slice(0, 7), 16) || 1;
