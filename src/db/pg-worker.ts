// The PostgreSQL registry's connection, on a worker thread of its own. The main thread posts one
// operation at a time and sleeps on a shared flag until the answer is posted back (see postgres.ts):
// a whole operation (a transaction of several statements) is one round trip between the threads.
// The connection also LISTENs, and forwards notifications to the main thread as they come.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Client, types } from 'pg';
import { historyWhere } from './history-filter';
import { CHANGES, HISTORY_COLUMNS, KILLS, lockSpace, PG_MIGRATIONS, PG_SCHEMA_VERSION, TASK_COLUMNS } from './pg-schema';

types.setTypeParser(20, (v: string) => Number(v)); // bigint ids and counts fit a double

const { url, port, flag } = workerData as { url: string; port: MessagePort; flag: Int32Array };

let client: Client | null = null;
let ns = 0;
/** The tasks this process watches: their locks are taken again after a reconnect. */
const held = new Set<number>();
const channels = new Set<string>();
let lockTimeoutMs = 15_000;
/** One operation at a time, in order: a transaction's statements never interleave with another's. */
let queue: Promise<void> = Promise.resolve();
let everConnected = false;

const notify = (m: unknown) => parentPort?.postMessage(m);

async function connection(): Promise<Client> {
  if (client) return client;
  const c = new Client({ connectionString: url, keepAlive: true, connectionTimeoutMillis: 5000, application_name: 'taskwatch' });
  const lost = () => {
    if (client !== c) return;
    client = null;
    reconnectSoon();
  };
  c.on('error', lost); // the server went away: the next operation connects again
  c.on('end', lost);
  c.on('notification', (n) => notify({ channel: n.channel, payload: n.payload }));
  await c.connect();
  await c.query(`SET lock_timeout = ${Math.max(10, Math.floor(lockTimeoutMs))}`);
  for (const ch of channels) await c.query(`LISTEN ${ch}`);
  const retaken: number[] = [];
  for (const id of held) {
    const r = await c.query('SELECT pg_try_advisory_lock($1, $2) AS ok', [ns, id]);
    if (r.rows[0].ok) retaken.push(id);
    else held.delete(id);
  }
  client = c;
  if (everConnected) {
    // What happened while the connection was down was not heard: every listener looks again.
    if (channels.has(CHANGES)) notify({ channel: CHANGES, payload: 'reconnected' });
    if (channels.has(KILLS)) for (const id of retaken) notify({ channel: KILLS, payload: String(id) });
  }
  everConnected = true;
  return c;
}

/**
 * A launcher holding locks (or anyone listening) must not wait for its next write to notice the
 * server went away: its locks, and so its tasks' liveness, are gone until it connects again.
 */
let retry: NodeJS.Timeout | undefined;
function reconnectSoon(waitMs = 100): void {
  if (retry || (held.size === 0 && channels.size === 0)) return;
  retry = setTimeout(() => {
    retry = undefined;
    // Through the queue, so that no operation's transaction is cut in two.
    queue = queue.then(() => connection().then(() => {}, () => reconnectSoon(Math.min(waitMs * 2, 2000))));
  }, waitMs);
}

/** One statement; a `name` makes it prepared once per connection (parsed and planned once). */
async function q(sql: string, args: unknown[] = [], name?: string): Promise<{ rows: any[]; rowCount: number }> {
  const c = await connection();
  const r = await c.query(name ? { name, text: sql, values: args } : { text: sql, values: args });
  return { rows: r.rows, rowCount: r.rowCount ?? 0 };
}

/** One transaction; the global lock (objid 0) stands for SQLite's BEGIN IMMEDIATE where writers must queue. */
async function tx<T>(f: () => Promise<T>, serial = true): Promise<T> {
  await q('BEGIN');
  try {
    if (serial) await q('SELECT pg_advisory_xact_lock($1, 0)', [ns]);
    const out = await f();
    await q('COMMIT');
    return out;
  } catch (err) {
    await q('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Live rows with `held`: whether some session holds the launcher's lock on the task right now. */
const SELECT_TASKS = `
  SELECT t.*, (l.objid IS NOT NULL) AS held FROM tasks t LEFT JOIN (
    SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  ) l ON l.objid = t.id::oid`;

const tasksWhere = async (where: string, args: unknown[]) => (await q(`${SELECT_TASKS} ${where}`, [ns, ...args])).rows;

/**
 * Many rows as one JSON text made by PostgreSQL: parsing 10,000 rows of 40 columns in pg and
 * copying them between threads as objects costs ten times the query; one string costs neither.
 */
async function json(select: string, args: unknown[], columns: readonly string[], order: string): Promise<string> {
  const array = `json_build_array(${columns.map((c) => `x.${c}`).join(', ')})`;
  return (await q(`SELECT COALESCE(json_agg(${array} ORDER BY ${order}), '[]')::text AS j FROM (${select}) x`, args)).rows[0].j as string;
}
const tasksJson = (where: string, args: unknown[], order = 'x.id') => json(`${SELECT_TASKS} ${where}`, [ns, ...args], TASK_COLUMNS, order);
const historyJson = (select: string, args: unknown[], order: string) => json(select, args, HISTORY_COLUMNS, order);

const sweep = async (now: number) => (await q(`DELETE FROM tasks WHERE status = 'RESERVED' AND expires <= $1`, [now])).rowCount;

async function take(id: number): Promise<void> {
  await q('SELECT pg_advisory_lock($1, $2)', [ns, id]);
  held.add(id);
}

async function drop(id: number): Promise<void> {
  if (!held.delete(id)) return;
  await q('SELECT pg_advisory_unlock($1, $2)', [ns, id]);
}

const launchArgs = (f: any, host: string) => [f.name ?? null, f.info1 ?? null, f.info2 ?? null, f.info3 ?? null, f.feedDir ? 1 : 0, f.timeoutSec, f.maxTimeSec,
  JSON.stringify(f.command), f.feedDir, f.graceSec, f.launcher.pid, f.launcher.start, f.rule.policy, f.rule.maxRestarts,
  f.rule.backoffMinSec, f.rule.backoffMaxSec, f.logs.stdout, f.logs.stderr, host];

const ops: Record<string, (...a: any[]) => Promise<unknown>> = {
  /** For other tables than the registry's (the demo's): one statement. */
  async query(sql: string, args: unknown[] = [], name?: string) {
    return q(sql, args, name);
  },
  async open(create: boolean) {
    await connection();
    const exists = async () => (await q(`SELECT to_regclass('meta') IS NOT NULL AS m, to_regclass('tasks') IS NOT NULL AS t`)).rows[0] as { m: boolean; t: boolean };
    let e = await exists();
    if (!e.m && e.t) throw Object.assign(new Error('this database holds a tasks table that is not a taskwatch registry'), { code: 'FOREIGN' });
    if (!e.m && !create) throw Object.assign(new Error('no registry'), { code: 'ENOREGISTRY' });
    const version = async () => Number((await q(`SELECT value FROM meta WHERE key = 'schema_version'`)).rows[0]?.value ?? 0);
    if (!e.m || (await version()) !== PG_SCHEMA_VERSION) {
      // Many launchers may meet a new database at once: one migrates, under a lock of its own,
      // taken before the transaction begins so that the transaction sees the tables another made.
      await q(`SELECT pg_advisory_lock(${0x7461736b}, 0)`);
      await q('BEGIN');
      try {
        e = await exists();
        const from = e.m ? await version() : 0;
        if (from > PG_SCHEMA_VERSION) throw Object.assign(new Error(`schema version ${from} is newer than this taskwatch (${PG_SCHEMA_VERSION}); upgrade taskwatch`), { code: 'TASKWATCH_NEWER' });
        for (let v = from; v < PG_SCHEMA_VERSION; v++) await q(PG_MIGRATIONS[v]);
        await q(`INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = $1`, [String(PG_SCHEMA_VERSION)]);
        await q('COMMIT');
      } catch (err) {
        await q('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        await q(`SELECT pg_advisory_unlock(${0x7461736b}, 0)`).catch(() => {});
      }
    }
    const key = (await q(`SELECT value FROM meta WHERE key = 'registry_key'`)).rows[0].value as string;
    ns = lockSpace(key);
    return key;
  },
  async close() {
    const c = client;
    client = null;
    await c?.end().catch(() => {});
  },
  async setLockTimeout(ms: number) {
    lockTimeoutMs = ms;
    if (client) await q(`SET lock_timeout = ${Math.max(10, Math.floor(ms))}`);
  },
  async listen(channel: string, on: boolean) {
    if (on) channels.add(channel);
    else channels.delete(channel);
    await q(`${on ? 'LISTEN' : 'UNLISTEN'} ${channel}`);
  },
  sweep,
  async reserve(o: any, now: number, ttl: number) {
    return tx(async () => {
      await sweep(now);
      if (o.unique) {
        const holder = (await tasksWhere('WHERE t.name = $2 ORDER BY t.id LIMIT 1', [o.name ?? null]))[0];
        if (holder) return { holder };
      }
      const r = await q(`INSERT INTO tasks (name, info1, info2, info3, status, feedback, reservetime, expires) VALUES ($1, $2, $3, $4, 'RESERVED', 0, $5, $6) RETURNING id`,
        [o.name ?? null, o.info1 ?? null, o.info2 ?? null, o.info3 ?? null, now, now + ttl]);
      return { id: r.rows[0].id };
    });
  },
  async startNew(f: any, now: number, host: string) {
    return tx(async () => {
      await sweep(now);
      const a = launchArgs(f, host);
      const r = await q(
        `INSERT INTO tasks (name, info1, info2, info3, feedback, timeout, max_time, command, feeddir, grace, launcher_pid, launcher_start,
           restart, max_restarts, backoff_min, backoff_max, log_out, log_err, host, pool, instance, status, reservetime, starttime, lastupdate)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 'RUNNING', $22, $22, $22) RETURNING id`,
        [...a, f.pool?.name ?? null, f.pool?.instance ?? null, now],
      );
      const id = r.rows[0].id as number;
      await take(id); // before the commit: nobody sees the row without its launcher's lock
      return (await tasksWhere('WHERE t.id = $2', [id]))[0];
    });
  },
  async claim(id: number, f: any, now: number, host: string) {
    return tx(async () => {
      await sweep(now);
      const r = await q(
        `UPDATE tasks SET status = 'RUNNING', name = COALESCE($1, name), info1 = COALESCE($2, info1), info2 = COALESCE($3, info2),
           info3 = COALESCE($4, info3), feedback = $5, timeout = $6, max_time = $7, command = $8, feeddir = $9, grace = $10,
           launcher_pid = $11, launcher_start = $12, restart = $13, max_restarts = $14, backoff_min = $15, backoff_max = $16,
           log_out = $17, log_err = $18, host = $19, starttime = $20, lastupdate = $20, expires = NULL
         WHERE id = $21 AND status = 'RESERVED'`,
        [...launchArgs(f, host), now, id],
      );
      if (r.rowCount === 1) {
        await take(id);
        return { claimed: (await tasksWhere('WHERE t.id = $2', [id]))[0] };
      }
      return (await q('SELECT 1 FROM tasks WHERE id = $1', [id])).rowCount ? 'taken' : 'unknown';
    });
  },
  async setChild(id: number, pid: number, start: number, pgid: number | null, cgroup: string | null) {
    await q(`UPDATE tasks SET pid = $1, pid_start = $2, pgid = $3, cgroup = $4 WHERE id = $5`, [pid, start, pgid, cgroup, id]);
  },
  async setStatus(id: number, status: string, heartbeat: number | null, now: number) {
    await q(`UPDATE tasks SET status = $1, heartbeat = $2, lastupdate = $3, duration = $3 - starttime WHERE id = $4 AND status != 'RESERVED'`, [status, heartbeat, now, id]);
  },
  async requestKill(id: number, grace: number | null, note: string) {
    // The request and its NOTIFY commit together: the launcher, on whatever host, hears it and finds the note.
    return tx(async () => {
      await q(`UPDATE tasks SET kill_grace = $1, kill_note = COALESCE(kill_note, $2) WHERE id = $3`, [grace, note, id]);
      await q(`SELECT pg_notify('${KILLS}', $1)`, [String(id)]);
    }, false);
  },
  async withdrawKill(id: number, note: string) {
    await q(`UPDATE tasks SET kill_grace = NULL, kill_note = NULL WHERE id = $1 AND kill_note = $2`, [id, note]);
  },
  async archive(t: any, e: any, restart: { at: number } | null) {
    const out = await tx(async () => {
      const row = (await q(`SELECT launcher_pid, launcher_start FROM tasks WHERE id = $1`, [t.id])).rows[0];
      const ours = row !== undefined && row.launcher_pid === (t.launcher?.pid ?? null) && row.launcher_start === (t.launcher?.start ?? null);
      if (!ours && (await q(`SELECT 1 FROM history WHERE taskid = $1 AND starttime = $2`, [t.id, t.startedAt])).rowCount) return null;
      const r = await q(
        `INSERT INTO history (taskid, taskname, info1, info2, info3, termsignal, termerror, starttime, endtime, duration,
           feedback, command, pid, exitcode, outcome, run, status, log_out, log_err, host)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id`,
        [t.id, t.name, t.info1, t.info2, t.info3, e.termsignal, e.termerror, t.startedAt, e.endedAt, Math.max(0, e.endedAt - t.startedAt),
          e.feedback ? JSON.stringify(e.feedback) : null, JSON.stringify(t.command), t.leader?.pid ?? null, e.exitcode, e.outcome, t.run, e.status,
          t.logs.stdout, t.logs.stderr, t.host],
      );
      if (ours && restart === null) await q(`DELETE FROM tasks WHERE id = $1`, [t.id]);
      if (ours && restart !== null) {
        await q(
          `UPDATE tasks SET status = 'BACKOFF', run = run + 1, restarts = restarts + 1, last_outcome = $1, next_start = $2, pid = NULL,
             pid_start = NULL, pgid = NULL, cgroup = NULL, heartbeat = NULL, lastupdate = $3 WHERE id = $4`,
          [e.outcome, restart.at, e.endedAt, t.id],
        );
      }
      // In a registry that did not issue this id (it was recreated), it must never issue it later.
      await q(`SELECT setval('tasks_id_seq', GREATEST((SELECT last_value FROM tasks_id_seq), $1))`, [t.id]);
      return r.rows[0].id as number;
    });
    if (restart === null) await drop(t.id);
    return out;
  },
  async beginRun(t: any, now: number) {
    const r = await q(
      `UPDATE tasks SET status = 'RUNNING', starttime = $1, lastupdate = $1, next_start = NULL
       WHERE id = $2 AND status = 'BACKOFF' AND launcher_pid = $3 AND launcher_start = $4`,
      [now, t.id, t.launcher?.pid ?? null, t.launcher?.start ?? null],
    );
    return r.rowCount === 1 ? (await tasksWhere('WHERE t.id = $2', [t.id]))[0] : undefined;
  },
  async endBetweenRuns(t: any, note: string) {
    await tx(async () => {
      await q(`DELETE FROM tasks WHERE id = $1 AND launcher_pid = $2 AND launcher_start = $3`, [t.id, t.launcher?.pid ?? null, t.launcher?.start ?? null]);
      await q(`UPDATE history SET termerror = COALESCE(termerror || '; ', '') || $1 WHERE id = (SELECT MAX(id) FROM history WHERE taskid = $2)`, [note, t.id]);
    });
    await drop(t.id);
  },
  async pool(name: string) {
    return (await q(`SELECT * FROM pools WHERE name = $1`, [name])).rows[0];
  },
  async pools() {
    return (await q(`SELECT * FROM pools ORDER BY name`)).rows;
  },
  async scalePool(name: string, desired: number, def: { command: string[]; options: unknown } | null, now: number) {
    return tx(async () => {
      const r = await q(`UPDATE pools SET desired = $1 WHERE name = $2`, [desired, name]);
      if (r.rowCount === 1) return { created: false };
      if (!def) return { missing: true };
      await q(`INSERT INTO pools (name, desired, command, options, created) VALUES ($1, $2, $3, $4, $5)`, [name, desired, JSON.stringify(def.command), JSON.stringify(def.options), now]);
      return { created: true };
    });
  },
  /** The pool's row for a claim: the caller decides (it alone can tell whether a supervisor pid lives), then `setSupervisor`. */
  async setSupervisor(name: string, pid: number, start: number, now: number, expect: { pid: number; start: number } | null) {
    return tx(async () => {
      const r = await q(
        `UPDATE pools SET supervisor_pid = $1, supervisor_start = $2, supervised_since = $3
         WHERE name = $4 AND supervisor_pid IS NOT DISTINCT FROM $5 AND supervisor_start IS NOT DISTINCT FROM $6`,
        [pid, start, now, name, expect?.pid ?? null, expect?.start ?? null],
      );
      return r.rowCount === 1;
    });
  },
  async releasePool(name: string, pid: number, start: number) {
    await q(`UPDATE pools SET supervisor_pid = NULL, supervisor_start = NULL, supervised_since = NULL WHERE name = $1 AND supervisor_pid = $2 AND supervisor_start = $3`, [name, pid, start]);
  },
  async countPool(name: string, dead: number, stalled: number, restarts: number) {
    await q(`UPDATE pools SET dead = dead + $1, stalled = stalled + $2, restarts = restarts + $3 WHERE name = $4`, [dead, stalled, restarts, name]);
  },
  async deletePool(name: string) {
    return (await q(`DELETE FROM pools WHERE name = $1`, [name])).rowCount === 1;
  },
  poolTasks: (name: string) => tasksJson('WHERE t.pool = $2', [name], 'x.instance, x.id'),
  task: async (id: number) => (await tasksWhere('WHERE t.id = $2', [id]))[0],
  liveTasks: (now: number) => tasksJson(`WHERE NOT (t.status = 'RESERVED' AND t.expires <= $2)`, [now]),
  tasksNamed: (name: string) => tasksJson('WHERE t.name = $2', [name]),
  async history(o: { name?: string; outcome?: string; host?: string; limit: number; offset?: number }) {
    const { w, args } = historyWhere(o, (n) => `$${n}`);
    return historyJson(`SELECT * FROM history ${w} ORDER BY id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`, [...args, o.limit, o.offset ?? 0], 'x.id DESC');
  },
  historyAfter: (id: number) => historyJson(`SELECT * FROM history WHERE id > $1`, [id], 'x.id'),
  historyOf: async (taskid: number) => (await q(`SELECT * FROM history WHERE taskid = $1 ORDER BY id DESC LIMIT 1`, [taskid])).rows[0],
  release: async (id: number) => (await q(`DELETE FROM tasks WHERE id = $1 AND status = 'RESERVED'`, [id])).rowCount === 1,
  async historyCount(f: { name?: string; outcome?: string; host?: string }) {
    const { w, args } = historyWhere(f, (n) => `$${n}`);
    return (await q(`SELECT COUNT(*) AS n FROM history ${w}`, args)).rows[0].n as number;
  },
  clearHistory: async () => (await q(`DELETE FROM history`)).rowCount,
  refreshDurations: async (now: number) => (await q(`UPDATE tasks SET duration = $1 - starttime, lastupdate = $1 WHERE starttime IS NOT NULL`, [now])).rowCount,
  liveCount: async () => (await q(`SELECT COUNT(*) AS n FROM tasks`)).rows[0].n as number,
  async recreate() {
    // The id sequence and the registry key stay, as on SQLite: tasks still running keep their files and marks.
    await tx(async () => {
      await q(`TRUNCATE tasks, history, pools`);
    });
  },
};

/** Errors as codes the main thread knows: a lock wait ran out (busy), the server cannot be reached, else SQLSTATE. */
function describe(err: unknown): { code: string; message: string } {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  if (code === '55P03') return { code: 'PG_BUSY', message: e.message ?? 'lock timeout' };
  if (/^(08|57P)/.test(code) || ['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code) ||
    /Connection terminated|timeout expired|not queryable/i.test(e.message ?? '')) {
    return { code: 'PG_UNREACHABLE', message: e.message ?? String(err) };
  }
  if (['FOREIGN', 'ENOREGISTRY', 'TASKWATCH_NEWER'].includes(code)) return { code, message: e.message ?? '' };
  if (code === '3D000') return { code: 'PG_NODB', message: e.message ?? '' };
  if (code === '28P01' || code === '28000') return { code: 'PG_AUTH', message: e.message ?? '' };
  return { code: code ? `PG_${code}` : 'PG_ERROR', message: e.message ?? String(err) };
}

port.on('message', (m: { seq: number; op: string; args: unknown[] }) => {
  queue = queue.then(async () => {
    let reply: unknown;
    try {
      const f = ops[m.op];
      if (!f) throw new Error(`no operation ${m.op}`);
      reply = { seq: m.seq, ok: await f(...m.args) };
    } catch (err) {
      reply = { seq: m.seq, err: describe(err) };
    }
    port.postMessage(reply);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
});

// Connect at once, while the thread that started this one goes on loading: the first operation
// finds the connection made (or makes it, and says why it cannot).
queue = queue.then(() => connection().then(() => {}, () => {}));
