import { maskUrl, pgError, PgBridge, type PgFailure } from '../db/pg-bridge';
import { TaskState, WriteAhead, type Claim, type TaskRecord, type TaskStore } from './taskdb';

// The demo_task table on PostgreSQL, shared by controllers on several hosts (ExecQueues' job table).
// A task is dispatched only through a claim that PostgreSQL decides: the row is locked with
// FOR UPDATE SKIP LOCKED and taken only while it is still Created or Killed, so of two controllers
// racing for one task exactly one gets it, and the other moves its worker on to another. Each
// controller marks the rows it took (`controller`), and after a restart loads only its own running
// tasks besides the ones anyone may take. Writes are queued and committed in one transaction per
// turn of the event loop, and what waits for them is sent after the commit, as on SQLite.

/**
 * A turn's writes in order, as one statement (one round trip, atomic): each op is [kind, worker, at,
 * name]; the answer holds each op's row count, which for a claim says whether it was taken.
 */
const APPLY = `CREATE FUNCTION demo_task_apply(ops jsonb, me text) RETURNS int[] LANGUAGE plpgsql AS $fn$
  DECLARE op jsonb; out int[] := '{}'; n int;
  BEGIN
    FOR op IN SELECT * FROM jsonb_array_elements(ops) LOOP
      CASE op->>0
        WHEN 'assign' THEN
          UPDATE demo_task SET state = ${TaskState.Running}, worker = op->>1, assign_time = (op->>2)::bigint, controller = me WHERE task_name = op->>3;
        WHEN 'claim' THEN
          UPDATE demo_task SET state = ${TaskState.Running}, worker = op->>1, assign_time = (op->>2)::bigint, controller = me
          WHERE task_name = (SELECT task_name FROM demo_task WHERE task_name = op->>3 AND state IN (${TaskState.Created}, ${TaskState.Killed}) FOR UPDATE SKIP LOCKED);
        WHEN 'complete' THEN
          UPDATE demo_task SET state = ${TaskState.Success}, worker = op->>1, complete_time = (op->>2)::bigint WHERE task_name = op->>3;
        ELSE -- kill: only a task this controller holds
          UPDATE demo_task SET state = ${TaskState.Killed} WHERE task_name = op->>3 AND state = ${TaskState.Running} AND controller = me;
      END CASE;
      GET DIAGNOSTICS n = ROW_COUNT;
      out := out || n;
    END LOOP;
    RETURN out;
  END $fn$;`;

export const PG_CREATE_TABLE = `CREATE TABLE IF NOT EXISTS demo_task (task_name text PRIMARY KEY, sleep_time integer, state integer,
  worker text, assign_time bigint, complete_time bigint, controller text);
  ALTER TABLE demo_task ADD COLUMN IF NOT EXISTS controller text;
  DO $do$ BEGIN
    PERFORM pg_advisory_xact_lock(${0x64656d6f}, 0); -- two controllers starting at once make it once
    IF to_regprocedure('demo_task_apply(jsonb, text)') IS NULL THEN
      ${APPLY}
    END IF;
  END $do$`;

const COLUMNS = 'task_name, sleep_time, state, worker, assign_time, complete_time';

/** A missing table in words; every other failure as for any connection. */
const describe = (where: string, e: PgFailure) =>
  pgError(where, e, (f) => (f.code === 'PG_42P01' ? `${where} has no demo_task table; create it with task-admin create -f URL` : undefined));

/** Opens the table at a postgres:// URL, creating it if `create` (task-admin); the controller needs it to exist. */
export function openPgTaskDb(url: string, create: boolean): PgBridge {
  const pg = new PgBridge(url, (e) => describe(maskUrl(url), e));
  try {
    if (create) pg.call('query', PG_CREATE_TABLE);
    else pg.call('query', 'SELECT 1 FROM demo_task LIMIT 1');
  } catch (err) {
    pg.close();
    throw err;
  }
  return pg;
}


/** task-admin create: `count` tasks with random unique names, as on SQLite, in one statement per round. */
export function pgCreateTasks(pg: PgBridge, count: number, maxSleep: number): number {
  const space = Math.max(100_000, count * 20);
  let made = 0;
  while (made < count) {
    const names = Array.from({ length: count - made }, () => `task_${Math.floor(Math.random() * space)}`);
    const sleeps = names.map(() => Math.floor(Math.random() * (maxSleep + 1)));
    const r = pg.call('query', `INSERT INTO demo_task (task_name, sleep_time, state, worker) SELECT DISTINCT ON (n) n, s, 0, '' FROM unnest($1::text[], $2::int[]) AS v(n, s)
      ON CONFLICT DO NOTHING`, [names, sleeps]) as { rowCount: number };
    made += r.rowCount;
  }
  return made;
}

export function pgAddTask(pg: PgBridge, name: string, sleep: number): boolean {
  return (pg.call('query', `INSERT INTO demo_task (task_name, sleep_time, state, worker) VALUES ($1, $2, 0, '') ON CONFLICT DO NOTHING`, [name, sleep]) as { rowCount: number }).rowCount === 1;
}

export function pgAllTasks(pg: PgBridge): TaskRecord[] {
  return (pg.call('query', `SELECT ${COLUMNS} FROM demo_task ORDER BY COALESCE(worker, '') = '', worker, assign_time, task_name`) as { rows: TaskRecord[] }).rows;
}

type Write = ['assign' | 'claim' | 'complete' | 'kill', string | null, number | null, string];

export class PgTaskDb extends WriteAhead<Write> implements TaskStore {
  private claims: Array<{ at: number; claim: Claim }> = [];
  readonly where: string;

  constructor(
    private readonly pg: PgBridge,
    /** This controller's name in the rows it takes: host and port. */
    private readonly me: string,
  ) {
    super();
    this.where = pg.where;
    pg.call('query', PG_CREATE_TABLE);
  }

  unfinished(): TaskRecord[] {
    const r = this.pg.call('query', `SELECT ${COLUMNS} FROM demo_task WHERE state IN (${TaskState.Created}, ${TaskState.Killed})
      OR (state = ${TaskState.Running} AND controller = $1) ORDER BY task_name`, [this.me]) as { rows: TaskRecord[] };
    return r.rows;
  }

  counts(): Record<number, number> {
    const out: Record<number, number> = { 0: 0, 1: 0, 2: 0, 3: 0 };
    const r = this.pg.call('query', `SELECT state, COUNT(*) AS n FROM demo_task GROUP BY state`) as { rows: Array<{ state: number; n: number }> };
    for (const row of r.rows) out[row.state] = Number(row.n);
    return out;
  }

  assign(name: string, worker: string, at: number): void {
    this.queue(['assign', worker, at, name]);
  }

  claim(name: string, worker: string, at: number): Claim {
    const claim: Claim = { ok: false };
    this.claims.push({ at: this.queued, claim });
    this.queue(['claim', worker, at, name]);
    return claim;
  }

  complete(name: string, worker: string, at: number): void {
    this.queue(['complete', worker, at, name]);
  }

  /** Only a task this controller holds: a lost connection never takes back another controller's task. */
  kill(name: string): void {
    this.queue(['kill', null, null, name]);
  }

  /** The turn's writes in order, in one call; each claim learns whether it was taken. */
  protected commit(writes: Write[]): void {
    const r = this.pg.call('query', 'SELECT demo_task_apply($1::jsonb, $2) AS n', [JSON.stringify(writes), this.me], 'demo_task_apply') as { rows: Array<{ n: number[] }> };
    for (const c of this.claims) c.claim.ok = r.rows[0].n[c.at] === 1;
    this.claims = [];
  }

  close(): void {
    try {
      this.flush();
    } finally {
      this.pg.close();
    }
  }

  /** The table's oid: another once it is dropped and made again; null once it (or its database) is gone. */
  identity(): string | null {
    try {
      const r = this.pg.call('query', `SELECT to_regclass('demo_task')::oid AS oid`) as { rows: Array<{ oid: number | null }> };
      return r.rows[0]?.oid == null ? null : String(r.rows[0].oid);
    } catch (err) {
      if ((err as { code?: string }).code === 'PG_NODB') return null;
      throw err;
    }
  }
}
