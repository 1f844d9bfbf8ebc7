// npm run bench: what one watched task costs, measured. Prints a table; --write puts it in bench/RESULTS.md
// and README.md, --strict exits 1 when a target is missed, --peers adds GNU timeout, nq, supervisord and pm2.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { background, bin, feedbackPath, helpersByLauncher, launcherPssKb, median, ROOT, sleep, spread, timed, until, untilRunning, type Figure } from './lib';
import { poolMemory, restartLatency, scaleUp, waitLatency } from './supervision';
import { atSize, cpuPerLauncher, thousand } from './scale';
import { statusOf20, wrapTrue } from './peers';
import { serveFigures } from './serve';
import { postgresFigures } from './postgres';
import { freePort } from '../src/showcase/showcase';


const node = process.execPath;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'taskwatch-bench-'));
let dbN = 0;
const newDb = () => path.join(scratch, `r${dbN++}.db`);
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const ms = (x: number) => `${x.toFixed(1)} ms`;

/**
 * `launch -- true` against `node -e 0`, run alternately; and the same launch without a cgroup
 * (TASKWATCH_CGROUP=off), since moving the task into its cgroup costs the kernel an RCU grace period.
 */
async function launchOverhead(runs: number): Promise<Figure> {
  const db = newDb();
  const env = { TASKWATCH_DB: db };
  const off = { ...env, TASKWATCH_CGROUP: 'off' };
  await timed(bin('launch'), ['--', 'true'], env); // creates the file; not counted
  const l: number[] = [];
  const p: number[] = [];
  const n: number[] = [];
  // Where NODE_EXTRA_CA_CERTS is set, every Node start parses that bundle, launch's excepted (it sets
  // the variable aside for its own start on SQLite): Node's start without it is shown too.
  const ca = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    n.push((await timed(node, ['-e', '0'])).ms);
    if (ca) bare.push((await timed(node, ['-e', '0'], { NODE_EXTRA_CA_CERTS: undefined })).ms);
    for (const [into, e] of [[l, env], [p, off]] as const) {
      const r = await timed(bin('launch'), ['--', 'true'], e);
      if (r.code !== 0) throw new Error(`launch -- true exited ${r.code}: ${r.stderr}`);
      into.push(r.ms);
    }
  }
  const ratios = l.map((x, i) => x / n[i]);
  const plain = p.map((x, i) => x / n[i]);
  const ratio = median(ratios);
  return {
    name: 'Launch overhead: `launch -- true` / `node -e 0`',
    value: `${spread(ratios, (x) => `${x.toFixed(2)}x`)}; ${ms(median(l))} vs ${ms(median(n))}; without a cgroup ${spread(plain, (x) => `${x.toFixed(2)}x`)}, ${ms(median(p))}` +
      (ca ? `; \`node -e 0\` without NODE_EXTRA_CA_CERTS ${ms(median(bare))} (launch: ${(median(l) / median(bare)).toFixed(2)}x)` : ''),
    target: '<= 1.15x',
    pass: ratio <= 1.15,
    how: `median of ${runs} pairwise ratios, run alternately; the task's move into its cgroup costs about 10 ms (an RCU grace period in the kernel)` +
      (ca ? `; NODE_EXTRA_CA_CERTS is set here (${process.env.NODE_EXTRA_CA_CERTS}): \`node -e 0\` parses that bundle as it starts, launch on SQLite does not` : ''),
  };
}

async function exitToArchive(runs: number): Promise<Figure> {
  const env = { TASKWATCH_DB: newDb() };
  const lat: number[] = [];
  for (let i = 0; i < runs; i++) {
    // The child prints the time (ns) just before it exits; launch --debug stamps the commit (ms).
    const r = await timed(bin('launch'), ['--debug', '--', 'sh', '-c', 'date +%s%N'], env);
    const exitNs = Number(r.stdout.trim());
    const archived = Number(/\[(\d+)\] task \d+: (?:run \d+ )?archived/.exec(r.stderr)?.[1]);
    if (!Number.isFinite(archived) || !Number.isFinite(exitNs)) throw new Error(`no archive stamp in launch --debug's output: ${r.stderr.slice(-300)}`);
    lat.push(archived - exitNs / 1e6);
  }
  const m = median(lat);
  return { name: 'Exit-to-archive latency', value: spread(lat, ms), target: '< 20 ms', pass: m < 20, how: `median of ${runs}: child's last timestamp to history commit` };
}

async function killPrecision(runs: number): Promise<Figure> {
  const dir = fs.mkdtempSync(path.join(scratch, 'kp-'));
  const env = { TASKWATCH_DB: newDb() };
  const late: number[] = [];
  const timeout = 0.5;
  for (let i = 0; i < runs; i++) {
    const r = await timed(bin('launch'), ['--feedpath', dir, '--keep-feedback', '--timeout', String(timeout), '--grace', '1', '--', 'sh', '-c', 'echo "[beat]1" >> "$TASKWATCH_FEEDBACK"; exec sleep 60'], env);
    if (r.code !== 124) throw new Error(`expected 124, got ${r.code}: ${r.stderr}`);
    const id = /taskid (\d+)/.exec(r.stderr)![1];
    const mtime = fs.statSync(feedbackPath(env.TASKWATCH_DB, dir, id)).mtimeMs;
    late.push(r.endedAt - (mtime + timeout * 1000));
  }
  const m = median(late);
  return { name: 'Heartbeat kill precision (launch exit after the deadline)', value: spread(late, ms), target: '<= 50 ms late', pass: m <= 50 && m >= 0, how: `median of ${runs}: one write, then a hang; --timeout ${timeout}` };
}

const HEARTBEAT_EVERY_HALF_SECOND = 'while :; do echo "[beat]x" >> "$TASKWATCH_FEEDBACK"; sleep 0.5; done';
const NODE_IDLE = 'setInterval(() => {}, 2 ** 30)';
/** Steady state: well past start-up (module compilation, the first registry writes, the spawn). */
const SETTLE_MS = 12_000;

async function memory(tasks: number): Promise<Figure> {
  const dir = fs.mkdtempSync(path.join(scratch, 'mem-'));
  const env = { TASKWATCH_DB: newDb() };
  const ls = Array.from({ length: tasks }, () => background(bin('launch'), ['--feedpath', dir, '--timeout', '30', '--', 'sh', '-c', HEARTBEAT_EVERY_HALF_SECOND], env));
  // Node's own floor beside them: as many Node processes that only wait on a timer (and, like launch,
  // parse no NODE_EXTRA_CA_CERTS bundle at start).
  const bare = Array.from({ length: tasks }, () => background(node, ['-e', NODE_IDLE], { NODE_EXTRA_CA_CERTS: undefined }));
  await untilRunning(env, tasks, 20000, `${tasks} running tasks`);
  // A launcher's PSS with its tw-beat-watch's (a task beating past its first quarter timeout has one).
  const meanOf = (ps: typeof ls) => {
    const helpers = helpersByLauncher();
    return ps.reduce((s, l) => s + launcherPssKb(l.pid!, helpers), 0) / ps.length / 1024;
  };
  const mean = () => meanOf(ls);
  await sleep(1000);
  const early = mean();
  await sleep(SETTLE_MS);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(mean());
    await sleep(300);
  }
  const floor = meanOf(bare);
  [...ls, ...bare].forEach((l) => l.kill('SIGTERM'));
  await Promise.all([...ls, ...bare].map((l) => l.exited));
  const mb = median(samples);
  return {
    name: `Memory per watched task (mean PSS of ${tasks} launchers)`,
    value: `${spread(samples, (x) => `${x.toFixed(2)} MB`)}; Node's floor ${floor.toFixed(2)} MB (${tasks} \`node -e\` waiting on a timer, beside them)`,
    target: '<= 8.0 MB',
    pass: mb <= 8.0,
    how: `median of 5 samples of the mean Pss (/proc/PID/smaps_rollup), ${SETTLE_MS / 1000} s after all ${tasks} ran (${early.toFixed(2)} MB 1 s after start); see the note below on long runs`,
  };
}

async function listAtScale(runs: number): Promise<Figure> {
  const db = newDb();
  const env = { TASKWATCH_DB: db };
  await Promise.all(Array.from({ length: 8 }, async (_, k) => {
    for (let i = k; i < 400; i += 8) {
      const r = await timed(bin('control'), ['--reserve', '--name', `r${i % 40}`, '--ttl', '3600'], env);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  }));
  const ls = Array.from({ length: 100 }, (_, i) => background(bin('launch'), ['--name', `run${i}`, '--', 'sleep', '3600'], env));
  await untilRunning(env, 100, 30000, '100 running tasks');
  const c: number[] = [];
  const n: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      n.push((await timed(node, ['-e', '0'])).ms);
      const r = await timed(bin('control'), ['--list'], env);
      if (r.code !== 0 || r.stdout.split('\n').length < 500) throw new Error(`control --list failed (exit ${r.code}, ${r.stdout.split('\n').length} lines): ${r.stderr}`);
      c.push(r.ms);
    }
  } finally {
    ls.forEach((l) => l.kill('SIGTERM'));
    await Promise.all(ls.map((l) => l.exited));
  }
  const ratios = c.map((x, i) => x / n[i]);
  const ratio = median(ratios);
  return { name: '`control --list` over 500 live tasks (100 running) / `node -e 0`', value: `${spread(ratios, (x) => `${x.toFixed(2)}x`)}; ${ms(median(c))} vs ${ms(median(n))}`, target: '<= 5x', pass: ratio <= 5, how: `median of ${runs} pairwise ratios, run alternately` };
}

async function dispatch(tasks: number, workers: number, runs: number): Promise<Figure> {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const db = path.join(scratch, `tasks${i}.db`);
    const c = await timed(bin('task-admin'), ['create', '-f', db, '-n', String(tasks), '--max-sleep', '0']);
    if (c.code !== 0) throw new Error(c.stderr);
    const ctl = background(bin('task-controller'), ['-v', '-p', '0', '-d', db, '--interval', '60']);
    const port = Number((await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(ctl.err()), 10000, 'the controller'))?.[1]);
    const ws = Array.from({ length: workers }, (_, k) => background(bin('task-worker'), ['-p', String(port), '-w', `w${k}`, '--log', '/dev/null']));
    const code = await ctl.exited;
    await Promise.all(ws.map((w) => w.exited));
    // From the first worker's connection to "all tasks done", by the controller's own log clock.
    const stamp = (re: RegExp) => Date.parse(new RegExp(`^(\\S+) task-controller: ${re.source}`, 'm').exec(ctl.err())?.[1] ?? '');
    const secs = (stamp(/all tasks done/) - stamp(/worker \S+ connected/)) / 1000;
    const d = new Database(db, { readonly: true });
    const done = (d.prepare('SELECT COUNT(*) AS n FROM demo_task WHERE state = 3').get() as { n: number }).n;
    d.close();
    if (code !== 0 || done !== tasks || !(secs > 0)) throw new Error(`controller exited ${code} with ${done}/${tasks} done`);
    rates.push(tasks / secs);
  }
  const m = median(rates);
  return { name: `Demo dispatch throughput, written ahead (${tasks} zero-second tasks, ${workers} workers)`, value: spread(rates, (x) => `${Math.round(x)} tasks/s`), target: '>= 20,000/s', pass: m >= 20000, how: `median of ${runs}; from the first worker's connection to the controller's "all tasks done", by its log timestamps` };
}

async function contention(n: number): Promise<Figure> {
  const env = { TASKWATCH_DB: newDb() };
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: n }, () => timed(bin('launch'), ['--', 'true'], env)));
  const wall = performance.now() - t0;
  const failures = rs.filter((r) => r.code !== 0).length;
  const rows = JSON.parse((await timed(bin('control'), ['--history', '--json', '--limit', String(n * 2)], env)).stdout).length;
  return { name: `Registry contention: ${n} \`launch -- true\` at once`, value: `${rows} history rows, ${failures} failures, ${(wall / 1000).toFixed(1)} s wall`, target: `${n} rows, 0 failures`, pass: rows === n && failures === 0, how: 'one run' };
}

async function parseSpeed(): Promise<Figure> {
  const file = path.join(scratch, 'big.log');
  const lines: string[] = [];
  for (let i = 0; i < 400_000; i++) lines.push(`[key_${i % 100}]value number ${i}`);
  fs.writeFileSync(file, lines.join('\n'));
  const mb = fs.statSync(file).size / 1048576;
  const t: number[] = [];
  for (let i = 0; i < 5; i++) t.push((await timed(bin('parse'), ['--feedback', file])).ms);
  const perMb = median(t) / mb;
  return { name: `Feedback parse speed (\`parse\`, ${mb.toFixed(1)} MB, 400k lines, process included)`, value: spread(t.map((x) => x / mb), (x) => `${x.toFixed(1)} ms per MB`), target: 'well under 1 s per MB', pass: perMb < 250, how: 'median of 5' };
}

/**
 * When the task itself got SIGTERM (its trap writes the time), against its heartbeat deadline; with
 * the registry write-locked by another process for 10 s from before the deadline, and without.
 */
async function killLateness(runs: number, locked: boolean): Promise<number[]> {
  const dir = fs.mkdtempSync(path.join(scratch, 'kl-'));
  const db = newDb();
  const env = { TASKWATCH_DB: db };
  const timeout = 0.5;
  const late: number[] = [];
  for (let i = 0; i < runs; i++) {
    const stamp = path.join(dir, `killed-${i}`);
    const l = background(bin('launch'), ['--feedpath', dir, '--keep-feedback', '--timeout', String(timeout), '--grace', '1', '--', 'sh', '-c',
      `trap 'date +%s%N > ${stamp}; exit 0' TERM; echo "[beat]1" >> "$TASKWATCH_FEEDBACK"; sleep 60 & wait`], env);
    const id = Number((await until(() => /taskid (\d+)/.exec(l.err()), 10000, 'the task id'))![1]);
    const file = feedbackPath(db, dir, id);
    await until(() => fs.existsSync(file) && fs.statSync(file).size > 0, 10000, 'the heartbeat');
    let locker: import('better-sqlite3').Database | undefined;
    if (locked) {
      locker = new Database(db);
      locker.exec('BEGIN IMMEDIATE');
    }
    const deadline = fs.statSync(file).mtimeMs + timeout * 1000;
    // The trap's redirection makes the file before date writes it: wait for the whole line.
    const line = await until(() => fs.existsSync(stamp) && /^\d+\n$/.test(fs.readFileSync(stamp, 'utf8')) && fs.readFileSync(stamp, 'utf8'), 15000, 'the kill');
    const killedAt = Number(line) / 1e6;
    if (locker) {
      await sleep(Math.max(0, deadline + 10_000 - Date.now())); // the lock lasts 10 s from the deadline
      locker.exec('COMMIT');
      locker.close();
    }
    await l.exited;
    late.push(killedAt - deadline);
  }
  return late;
}

async function lockedKill(runs: number): Promise<Figure> {
  const free = await killLateness(runs, false);
  const locked = await killLateness(runs, true);
  const m = median(locked);
  return {
    name: 'Heartbeat kill lateness with the registry write-locked for 10 s (SIGTERM received by the task, after its deadline)',
    value: `${spread(locked, ms)}; unlocked ${spread(free, ms)}`,
    target: '<= 50 ms, as unlocked',
    pass: m <= 50,
    how: `${runs} kills each way; --timeout 0.5, one heartbeat then a hang; the task's TERM trap stamps the time`,
  };
}

/** 5,000 zero-second tasks; the controller SIGKILLed 5 times during the burst and restarted; how many tasks ran twice. */
async function doubleExecutions(runs: number): Promise<Figure> {
  const doubles: number[] = [];
  for (let i = 0; i < runs; i++) {
    const db = path.join(scratch, `dx${i}.db`);
    const c0 = await timed(bin('task-admin'), ['create', '-f', db, '-n', '5000', '--max-sleep', '0']);
    if (c0.code !== 0) throw new Error(c0.stderr);
    const port = await freePort();
    const controller = async () => {
      const c = background(bin('task-controller'), ['-v', '-p', String(port), '-d', db, '--interval', '0.3', '--margin', '3']);
      await until(() => /listening on/.test(c.err()), 10000, 'the controller');
      return c;
    };
    let c = await controller();
    const ws = Array.from({ length: 8 }, (_, k) => background(bin('task-worker'), ['-v', '-p', String(port), '-w', `w${k}`]));
    const done = () => ws.reduce((n, w) => n + (w.err().match(/: done/g)?.length ?? 0), 0);
    for (let kill = 1; kill <= 5; kill++) {
      await until(() => done() >= kill * 800, 60000, `${kill * 800} done`);
      c.kill('SIGKILL');
      await c.exited;
      c = await controller();
    }
    await Promise.all([c.exited, ...ws.map((w) => w.exited)]);
    const count = new Map<string, number>();
    for (const w of ws) for (const m of w.err().matchAll(/task (\S+): done/g)) count.set(m[1], (count.get(m[1]) ?? 0) + 1);
    if (count.size !== 5000) throw new Error(`${count.size} of 5000 tasks done`);
    doubles.push([...count.values()].filter((n) => n > 1).length);
  }
  const worst = Math.max(...doubles);
  return {
    name: 'Double executions after 5 controller SIGKILLs during 5,000 zero-second tasks (8 workers)',
    value: `${worst} (per run: ${doubles.join(', ')})`,
    target: '0',
    pass: worst === 0,
    how: `${runs} runs; each task's executions counted in the workers' logs`,
  };
}

async function main() {
  const flag = (f: string) => process.argv.includes(f);
  const quick = flag('--quick');
  const peers = flag('--peers');
  if (peers) {
    // Installs what is missing (pm2 into bench/.peers; nq, supervisor and chromium as root), saying so.
    const r = spawnSync('sh', [path.join(ROOT, 'bench', 'peers.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) log('bench/peers.sh failed; the peers it could not install are said in their figures');
  }
  const steps: Array<[string, () => Promise<Figure | Figure[]>]> = [
    ['launch overhead', () => launchOverhead(quick ? 7 : 21)],
    ['exit-to-archive', () => exitToArchive(quick ? 7 : 21)],
    ['kill precision', () => killPrecision(quick ? 3 : 9)],
    ['kill under a locked registry', () => lockedKill(quick ? 2 : 5)],
    ['cpu per launcher', () => cpuPerLauncher(scratch, quick ? 10 : 30)],
    ['memory', () => memory(20)],
    ['control --list', () => listAtScale(quick ? 5 : 11)],
    ['history and list at size', () => atSize(scratch, quick ? 3 : 7)],
    ['dispatch', () => dispatch(20000, 8, quick ? 1 : 3)],
    ['double executions', () => doubleExecutions(quick ? 1 : 3)],
    ['contention', () => contention(200)],
    ['parse', () => parseSpeed()],
    ['restart latency', () => restartLatency(scratch, quick ? 10 : 30)],
    ['scale 0 to 20', () => scaleUp(scratch, quick ? 3 : 7)],
    ['--wait wake-up', () => waitLatency(scratch, quick ? 5 : 11)],
    ['control --serve', () => serveFigures(scratch, quick ? 5 : 11)],
    ['postgresql', () => postgresFigures(scratch, quick, log)],
    ['thousand watched tasks', () => thousand(scratch, quick ? 200 : 1000)],
    ...(peers ? [
      ['peers: wrap and run true', () => wrapTrue(scratch, quick ? 7 : 21)],
      ['peers: status of 20 tasks', () => statusOf20(scratch, quick ? 7 : 21)],
      ['peers: pool memory beside pm2 and supervisord', () => poolMemory(scratch)],
    ] as Array<[string, () => Promise<Figure | Figure[]>]> : []),
  ];
  // --only WORD (repeatable): the figures whose step name holds a word, for working on one.
  const only = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--only' ? [a] : []));
  const figures: Figure[] = [];
  for (const [what, f] of steps.filter(([w]) => only.length === 0 || only.some((o) => w.includes(o)))) {
    log(`measuring ${what}...`);
    try {
      figures.push(...[await f()].flat());
    } catch (err) {
      figures.push({ name: what, value: `error: ${(err as Error).message}`, target: '', pass: false, how: '' });
    }
  }
  try {
    fs.rmSync(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  } catch (err) {
    log(`could not remove ${scratch}: ${(err as Error).message}`);
  }
  // A noisy machine misses a target now and then: the table says so, and only --strict makes it an exit status.
  const missed = figures.filter((f) => !f.pass).length;
  const code = flag('--strict') && missed > 0 ? 1 : 0;
  const table = ['| # | figure | measured | target | met | how |', '|---|---|---|---|---|---|',
    ...figures.map((f, i) => `| ${i + 1} | ${f.name} | ${f.value} | ${f.target} | ${f.pass ? 'yes' : '**no**'} | ${f.how} |`)].join('\n');
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB memory, Node ${process.version}, ${os.type()} ${os.release()}`;
  const md = `# Benchmark results

Produced by \`npm run bench -- --write${quick ? ' --quick' : ''}${peers ? ' --peers' : ''}\` on ${new Date().toISOString().slice(0, 10)}.

Machine: ${machine}.

${table}

What launch loads: Node's built-ins (fs, path, child_process, events, os, string_decoder), better-sqlite3,
and taskwatch's own modules for the registry, the feedback grammar, /proc identity and group
termination. No yargs (arguments are parsed by hand), no chokidar, no inotify (a timer per threshold),
no cli-table3 (that is control's). The package is CommonJS: an ES module launcher
measured about 0.7 MB more per process. At build time esbuild bundles launch and better-sqlite3's
JavaScript into one file (no module resolution at start-up: about 10 ms and 1 MB less), with named
imports of Node's modules (namespace imports made esbuild copy each module object: 170 KB of young
heap, enough to trigger a scavenge during start-up).

What each step of the cost issue saved, on this machine, each measured against the commit before it:
- Watching by deadline alone (no inotify; one timer per threshold): CPU per launcher with 50 in one
  directory 0.130% to about 0.004% of a core; 100 writes by neighbours wake it 0 times (140 before);
  0 inotify instances held (one per launcher before, of the 128 a user may have).
- The kill's timer slept to 1% short of its deadline, then the rest: lateness at --timeout 40 from
  25.6 ms to 11 ms (a sleep here overshoots by about 0.1% of its length).
- --history --json printed a page at a time: 100,000 rows from 1.4 s and 420 MB to 346 ms and 93 MB;
  then each page's JSON built by SQLite as one string, whether a row may be printed that way decided
  when it is written (schema 6: a flag kept by triggers, not json_each at every listing): 255 ms and
  70 MB (55 MB for 10,000 rows).
- control bundled into one file: \`--list --json\` over 20 tasks from about 100 ms to 85; the epoll_demo
  programs bundled: an idle task-worker from 48.3 MB PSS to 42.9, its start from 80 ms to 60.
- NODE_EXTRA_CA_CERTS set aside for our own programs' start (it names the system's whole bundle on
  these machines, and every Node process parses it as it starts): \`launch -- true\` from about 88 ms
  to about 60, a watching launcher about 0.95 MB less PSS, \`control --list\` about 30 ms less. The
  bench runs every program as users do, as a program, so its figures include this; figure 1 also
  shows \`node -e 0\` without the variable, and the memory and CPU floors are Node processes without it.
- The looks at a RUNNING task's quarter thresholds handed to tw-beat-watch, about 100 lines of C
  (native/beat-watch.c) started by the launcher once its task has beaten past its first quarter: a
  task that keeps beating never wakes Node, and the helper's wake-up costs about 70 us of CPU here
  against 250 to 400 us for Node's. CPU per launcher, helper included, from about 0.0055-0.0070% to
  about 0.0005% (50 in one directory); PSS per watched task 7.51 MB to 7.69 (the helper's 0.2 MB).
  SILENT, STALLED and the kill stay the launcher's own timers, so kill lateness is unchanged; a pool's
  supervisor looks itself (one process per pool), and so does a launcher without a C compiler at build.
- Tried on a watching launcher and dropped (20 launchers, PSS and CPU per wake-up): --jitless (+1.9 MB,
  and about three times the CPU per wake-up), --lite-mode (+1.6 MB), --single-threaded,
  --max-semi-space-size=1, --v8-pool-size=0, --no-memory-reducer, --optimize-for-size, --max-lazy,
  and esbuild's identifier minifying (source 125 KB to 100): none lowered PSS or CPU beyond the noise.
  A startup snapshot was not tried: launch's own code costs about 15 ms of its start, and the cgroup
  join 10.
- The demo's workers (figure 10: 20,000 zero-second tasks, 8 workers, 2 cores, CPU-bound). Most of a
  worker's CPU was its first few thousand turns, not its steady state: the same 8 workers did 80,000
  tasks at 26,000/s where 20,000 went at 14,000/s. Each step below was measured against the one
  before, in interleaved runs:
  - reads by Node's \`onread\` into one buffer instead of a Readable stream per socket: about
    14,500/s to 16,600/s;
  - V8 without its JIT (\`--jitless\`, in the worker's banner): 22,300/s. The optimizing compiler's
    work never paid back in a worker's first thousands of turns; \`--no-opt\` gave 20,600/s;
  - options parsed by hand: yargs and the assert module it loads were about 10 ms of each worker's
    start; 22,800/s to 23,900/s;
  - frames encoded in one allocation (a report cost 3.9 to 6.6 us without the JIT, now 2.9):
    24,400/s to 26,100/s.
  A zero-second task is also done in the turn it arrives in, and logged in one line. The CPU of a
  whole run went from about 2.9 s to 1.5 s. The controller runs the whole dispatch, and its JIT pays:
  \`--jitless\` there gave 14,700/s, and \`--no-opt\` 19,900/s against 24,700/s.
- What is left is mostly Node's: a bare \`node -e\` beside the launchers (figures 5 and 6, without
  NODE_EXTRA_CA_CERTS like them) costs about 0.0046% of a core waking on the same schedule (a wake-up
  of a Node process costs about 0.3 ms here, a Python one 0.12, a C one 0.07), which is why the helper
  does the waking, and 5.8 MB PSS doing nothing.

What containment costs at start: the task is started through a few lines of Perl, which join its
cgroup, make its process group and keep inherited signal dispositions before the command's exec
(about 3 ms more than Node's own spawn); and moving a process into a cgroup takes the kernel a write
lock whose first taker waits for an RCU grace period (about 10 ms here; systemd avoids it with
clone3(CLONE_INTO_CGROUP), which Node cannot call). Both are paid once per task, so they matter for
a task as short as \`true\` and not for the long jobs launch is for; figure 1 shows the launch
without a cgroup beside it. Kills, by contrast, stay within milliseconds of their deadline even
with the registry write-locked (figure 4), and a controller SIGKILLed mid-burst never has a task done
twice (figure 9).

Note on memory in long runs: a watching launcher allocates a little at each wake-up (a timer, the
file's times), so over its first few thousand wake-ups its young generation's pages all get touched and
its private memory grows by about 1.3 MB, then holds. (Measured before tw-beat-watch: a launcher whose
task keeps beating now does not wake at all, and the helper allocates nothing after its start.) One launcher waking 20 times a second: 9.6 MB
of anonymous memory at start, 11.1 MB after 150 s (3,000 wake-ups), 10.9 MB after 240 s; the same
with --max-semi-space-size=1. At --timeout 30 (a wake-up every 7.5 s at most) that is about six
hours in; this table measures launchers 12 s into their watch. A periodic full GC to shrink the young
generation back was tried (when the launcher still woke for every heartbeat) and dropped: it cost
more than it saved.

Note on a pool's memory beside pm2 and supervisord: one \`launch --pool\` process holds a pool,
however many instances it has, and its own data (heaps and stacks: what it allocates) is about half
of supervisord's or pm2's daemon's. Its program is another matter: a Node process has 30 to 40 MB of
the node binary resident (V8's snapshot and builtins, about 4 MB more once a native addon such as
better-sqlite3 is loaded), against about 10 MB for supervisord's Python. Every process running the
same program shares those pages, so they cost once per machine, not once per pool; but on a machine
where the pool's supervisor is the only Node process, its RSS and PSS (about 52 MB) are above
supervisord's (about 30 MB), and it is lighter only from the second pool, or beside any other Node
program. The table's PSS was measured beside the bench's own Node process, which shares the binary.
`;
  process.stdout.write(`${table}\n\nMachine: ${machine}\n${missed ? `${missed} of ${figures.length} figures missed their targets${code ? '' : ' (exit 0: --strict makes that a failure)'}` : `all ${figures.length} figures met their targets`}\n`);
  // README.md and bench/RESULTS.md are rewritten only when asked, and only from a whole run.
  if (!flag('--write')) return code;
  if (only.length > 0) {
    log('--write ignored with --only: the files show whole runs');
    return code;
  }
  fs.writeFileSync(path.join(ROOT, 'bench', 'RESULTS.md'), md);
  // The README's Performance section shows the same table, between its markers.
  const readme = path.join(ROOT, 'README.md');
  const text = fs.readFileSync(readme, 'utf8');
  const block = `<!-- bench:start -->\n${table}\n\nMachine: ${machine}; \`npm run bench -- --write${quick ? ' --quick' : ''}${peers ? ' --peers' : ''}\`, ${new Date().toISOString().slice(0, 10)}.\n<!-- bench:end -->`;
  fs.writeFileSync(readme, text.replace(/<!-- bench:start -->[\s\S]*?<!-- bench:end -->/, block));
  log('wrote bench/RESULTS.md and the table in README.md');
  return code;
}

// A step awaiting something that can no longer happen would let Node's loop run dry and exit 0 in silence.
let settled = false;
process.on('exit', (code) => {
  if (!settled && code === 0) {
    process.stderr.write('bench: stopped before it finished (a step awaited what could no longer happen)\n');
    process.exitCode = 1;
  }
});
main().then((code) => {
  settled = true;
  process.exit(code);
}, (err) => {
  settled = true;
  process.stderr.write(`bench: ${err.stack}\n`);
  process.exit(1);
});
