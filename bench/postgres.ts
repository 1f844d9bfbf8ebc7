// The registry and the fleet on PostgreSQL (the many-hosts issue), on a throwaway server started
// here as the tests start theirs: launch overhead beside SQLite's, cross-host kill latency,
// control --list over 10,000 live tasks of 10 hosts, two controllers sharing one table, and 200
// watching launchers on one server.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { background, bin, median, pssKb, sleep, spread, timed, until, untilRunning, type Figure } from './lib';
import { startPostgres, type PgServer } from '../tests/pg-server';
import { openFor } from '../src/db/open';
import { lockSpace } from '../src/db/pg-schema';

const ms = (x: number) => `${x.toFixed(1)} ms`;

async function sql<T = Record<string, unknown>>(url: string, text: string, args: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, args)).rows as T[];
  } finally {
    await c.end();
  }
}

/** `launch -- true` on PostgreSQL against the same on SQLite, run alternately. */
async function overheadVsSqlite(pg: PgServer, scratch: string, runs: number): Promise<Figure> {
  const url = await pg.createDb();
  const sqlite = { TASKWATCH_DB: path.join(scratch, 'pg-vs.db') };
  const onPg = { TASKWATCH_DB: url };
  await timed(bin('launch'), ['--', 'true'], sqlite);
  await timed(bin('launch'), ['--', 'true'], onPg);
  const s: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [into, env] of [[s, sqlite], [p, onPg]] as const) {
      const r = await timed(bin('launch'), ['--', 'true'], env);
      if (r.code !== 0) throw new Error(`launch -- true exited ${r.code}: ${r.stderr}`);
      into.push(r.ms);
    }
  }
  const ratios = p.map((x, i) => x / s[i]);
  return {
    name: 'PostgreSQL: launch overhead, `launch -- true` on PostgreSQL / on SQLite',
    value: `${spread(ratios, (x) => `${x.toFixed(2)}x`)}; ${ms(median(p))} vs ${ms(median(s))}`,
    target: 'reported',
    pass: true,
    how: `median of ${runs} pairwise ratios, run alternately; PostgreSQL on this machine (loopback TCP): a worker thread, a connection and a migration check per launch`,
  };
}

/**
 * From the kill request (written with its NOTIFY by another "host") to the child's death as the
 * launcher sees it (--debug stamps its exit), by one clock; and `control --kill` run as another host, whole.
 */
async function crossHostKill(pg: PgServer, scratch: string, runs: number): Promise<Figure[]> {
  const url = await pg.createDb();
  const env = { TASKWATCH_DB: url };
  const lat: number[] = [];
  const whole: number[] = [];
  for (let i = 0; i < runs * 2; i++) {
    const pidfile = path.join(scratch, `kill${i}.pid`);
    const l = background(bin('launch'), ['--debug', '--name', `k${i}`, '--', 'sh', '-c', `echo $$ > ${pidfile}; exec sleep 300`], { ...env, TASKWATCH_HOST: 'alpha' });
    await until(() => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim(), 10000, 'the task');
    const id = Number((await until(() => /taskid (\d+)/.exec(l.err()), 10000, 'its id'))![1]);
    await until(() => /pid \d+ started/.test(l.err()), 10000, 'the pid recorded');
    if (i % 2 === 0) {
      const reg = openFor(url, { create: false }); // the other host, in this process: the request's moment is known
      const t0 = Date.now();
      reg.requestKill(id, null, 'bench');
      reg.close();
      await l.exited;
      const died = Number(/\[(\d+)\] task \d+: killed/.exec(l.err())?.[1]);
      if (!Number.isFinite(died)) throw new Error(`no kill stamp: ${l.err().slice(-300)}`);
      lat.push(died - t0);
    } else {
      const r = await timed(bin('control'), ['--kill', String(id)], { ...env, TASKWATCH_HOST: 'beta' });
      if (r.code !== 0) throw new Error(`control --kill exited ${r.code}: ${r.stderr}`);
      whole.push(r.ms);
      await l.exited;
    }
  }
  return [{
    name: 'PostgreSQL: cross-host kill latency, request (NOTIFY) to the child\'s death',
    value: spread(lat, ms),
    target: '<= 50 ms',
    pass: median(lat) <= 50,
    how: `median of ${runs}; the request written by another host's connection, the death stamped by the launcher (--debug) when it reaps the child; \`control --kill\` as another host, start to exit (Node's start-up included): ${spread(whole, ms)}`,
  }];
}

/** 10,000 live tasks of 10 hosts, each held by its lock (one session may hold them all), listed from one host. */
async function listTenThousand(pg: PgServer, runs: number): Promise<Figure> {
  const url = await pg.createDb();
  openFor(url, { create: true }).close();
  const key = (await sql<{ value: string }>(url, `SELECT value FROM meta WHERE key = 'registry_key'`))[0].value;
  const now = Date.now() / 1000;
  await sql(url, `INSERT INTO tasks (name, status, starttime, reservetime, lastupdate, command, launcher_pid, launcher_start, pid, pid_start, host)
    SELECT 'job' || g, 'RUNNING', $1, $1, $1, '["sleep","3600"]', 4000000 + g, 1, 4100000 + g, 1, 'host' || (g % 10) FROM generate_series(1, 10000) g`, [now]);
  const holder = new Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query(`SELECT pg_advisory_lock($1, id::int) FROM tasks`, [lockSpace(key)]);
    const env = { TASKWATCH_DB: url, TASKWATCH_HOST: 'host0' };
    const t: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await timed(bin('control'), ['--list', '--json'], env);
      const rows = JSON.parse(r.stdout) as Array<{ status: string }>;
      if (r.code !== 0 || rows.length !== 10000 || rows.some((x) => x.status !== 'RUNNING')) throw new Error(`control --list: exit ${r.code}, ${rows.length} rows: ${r.stderr}`);
      t.push(r.ms);
    }
    return {
      name: 'PostgreSQL: `control --list --json` over 10,000 live tasks on 10 hosts',
      value: spread(t, ms),
      target: '<= 300 ms',
      pass: median(t) <= 300,
      how: `median of ${runs}, start to exit; every task RUNNING by its launcher's lock (held here by one session for all 10,000)`,
    };
  } finally {
    await holder.end();
  }
}

/**
 * Two controllers with 4 workers each, sharing one demo_task table of zero-second tasks. Timed
 * runs as figure 8 times SQLite's (workers quiet, logging to /dev/null); then one more run with the
 * workers' -v logs, in which every execution of every task is counted.
 */
async function sharedDispatch(pg: PgServer, tasks: number, runs: number): Promise<Figure> {
  const one = async (counted: boolean) => {
    const url = await pg.createDb();
    const c = await timed(bin('task-admin'), ['create', '-f', url, '-n', String(tasks), '--max-sleep', '0']);
    if (c.code !== 0) throw new Error(c.stderr);
    const ctls = ['alpha', 'beta'].map((h) => background(bin('task-controller'), ['-v', '-p', '0', '-d', url, '--interval', '60'], { TASKWATCH_HOST: h }));
    const ports = await Promise.all(ctls.map(async (ctl) => Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(ctl.err()), 10000, 'a controller'))![1])));
    const ws = ports.flatMap((port, k) => [0, 1, 2, 3].map((j) => background(bin('task-worker'), [...(counted ? ['-v'] : []), '-p', String(port), '-w', `w${k}${j}`, '--log', '/dev/null'])));
    const codes = await Promise.all(ctls.map((x) => x.exited));
    await Promise.all(ws.map((w) => w.exited));
    const stamp = (text: string, re: RegExp) => Date.parse(new RegExp(`^(\\S+) task-controller: ${re.source}`, 'm').exec(text)?.[1] ?? '');
    const start = Math.min(...ctls.map((x) => stamp(x.err(), /worker \S+ connected/)));
    const end = Math.max(...ctls.map((x) => stamp(x.err(), /all tasks done/)));
    const done = Number((await sql<{ n: string }>(url, 'SELECT COUNT(*) AS n FROM demo_task WHERE state = 3'))[0].n);
    if (codes.some((x) => x !== 0) || done !== tasks || !(end > start)) throw new Error(`controllers exited ${codes} with ${done}/${tasks} done`);
    const seen = new Map<string, number>();
    for (const w of ws) for (const m of w.err().matchAll(/task (\S+): done/g)) seen.set(m[1], (seen.get(m[1]) ?? 0) + 1);
    if (counted && seen.size !== tasks) throw new Error(`${seen.size} of ${tasks} tasks seen done in the workers' logs`);
    return { rate: tasks / ((end - start) / 1000), twice: [...seen.values()].filter((k) => k > 1).length };
  };
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) rates.push((await one(false)).rate);
  const counted = await one(true);
  return {
    name: `PostgreSQL: dispatch throughput of two controllers sharing one table (${tasks} zero-second tasks, 2 x 4 workers)`,
    value: `${spread(rates, (x) => `${Math.round(x)} tasks/s`)}; in a counted run (${Math.round(counted.rate)} tasks/s with the workers' logs) ${counted.twice} done twice`,
    target: '>= 5,000/s, 0 twice',
    pass: median(rates) >= 5000 && counted.twice === 0,
    how: `median of ${runs}, measured as figure 8 (workers logging to /dev/null); from the first worker's connection to the last "all tasks done", by the controllers' log stamps; then one run with the workers' -v logs, every execution counted`,
  };
}

/** 200 launchers watching at once on one server: one connection each. */
async function twoHundred(pg: PgServer, scratch: string): Promise<Figure> {
  const url = await pg.createDb();
  const env = { TASKWATCH_DB: url };
  const sqliteEnv = { TASKWATCH_DB: path.join(scratch, 'pg-200.db') };
  const go = path.join(scratch, 'go-200');
  const t0 = performance.now();
  const ls = Array.from({ length: 200 }, (_, i) => background(bin('launch'), ['--name', `l${i}`, '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 1; done`], { ...env, TASKWATCH_HOST: `h${i % 4}` }));
  try {
    await untilRunning(env, 200, 120000, '200 running tasks', 'RUNNING');
    const startMs = performance.now() - t0;
    const conns = Number((await sql<{ n: string }>(url, `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'taskwatch'`))[0].n);
    await sleep(2000);
    const pgPss = ls.map((l) => pssKb(l.pid!) / 1024);
    // The same watch on SQLite, 20 launchers, for the comparison.
    const ss = Array.from({ length: 20 }, (_, i) => background(bin('launch'), ['--name', `s${i}`, '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 1; done`], sqliteEnv));
    await untilRunning(sqliteEnv, 20, 60000, '20 running tasks on SQLite');
    await sleep(2000);
    const sqPss = ss.map((l) => pssKb(l.pid!) / 1024);
    fs.writeFileSync(go, '');
    const codes = await Promise.all([...ls, ...ss].map((l) => l.exited));
    if (codes.some((c) => c !== 0)) throw new Error(`launchers exited ${codes.filter((c) => c !== 0).slice(0, 5)}`);
    const hist = await timed(bin('control'), ['--history', '--json', '--limit', '1000'], env);
    const archived = (JSON.parse(hist.stdout) as unknown[]).length;
    if (archived !== 200) throw new Error(`${archived} of 200 archived`);
    return {
      name: 'PostgreSQL: 200 launchers watching at once on one server',
      value: `${conns} connections (max_connections 300); all RUNNING ${(startMs / 1000).toFixed(1)} s after the first start; PSS per launcher ${spread(pgPss, (x) => `${x.toFixed(2)} MB`)} vs ${median(sqPss).toFixed(2)} MB on SQLite; 200 of 200 archived`,
      target: 'reported',
      pass: true,
      how: '200 launches started at once from 4 host identities; connections counted in pg_stat_activity; PSS from /proc/PID/smaps_rollup 2 s after all ran',
    };
  } finally {
    fs.writeFileSync(go, '');
    ls.forEach((l) => l.kill('SIGTERM'));
  }
}

export async function postgresFigures(scratch: string, quick: boolean, log: (s: string) => void): Promise<Figure[]> {
  const pg = await startPostgres({ maxConnections: 300 });
  try {
    const out: Figure[] = [];
    log('  PostgreSQL: launch overhead');
    out.push(await overheadVsSqlite(pg, scratch, quick ? 7 : 21));
    log('  PostgreSQL: cross-host kill');
    out.push(...(await crossHostKill(pg, scratch, quick ? 5 : 11)));
    log('  PostgreSQL: list over 10,000 tasks');
    out.push(await listTenThousand(pg, quick ? 5 : 11));
    log('  PostgreSQL: two controllers');
    out.push(await sharedDispatch(pg, 20000, quick ? 1 : 3));
    log('  PostgreSQL: 200 launchers');
    out.push(await twoHundred(pg, scratch));
    return out;
  } finally {
    pg.stop();
  }
}
