// One test per defect of the trust issue (B1..B22): each failed on the main before it, and must pass now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { alive, bin, feedbackFile, fixture, registryKey, ROOT, run, start, tmpdir, tw, waitFor } from './helpers';
import { openRegistry } from '../src/db/sqlite';
import { procStartTime } from '../src/proc/identity';

interface Live {
  taskid: number;
  name: string;
  pid: number | null;
  status: string;
  containment: string | null;
}
interface Hist {
  taskid: number;
  name: string;
  outcome: string;
  exitcode: number | null;
  termsignal: string | null;
  termerror: string | null;
  starttime: number;
  endtime: number;
  duration: number;
  feedback: Record<string, string>;
}

function setup() {
  const dir = tmpdir();
  return { dir, ...tw(path.join(dir, 'tw.db')) };
}
const readPid = async (file: string) => Number(await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim(), 10_000, file));
const running = async (t: ReturnType<typeof setup>, name?: string) =>
  waitFor(async () => (await t.json<Live[]>('--list')).find((e) => e.pid && (name === undefined || e.name === name)), 10_000, `${name ?? 'a task'} running`);
/** True when this process holds `file` open (seen through /proc/PID/fd). */
const holds = (pid: number, file: string) => {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
};
const isRoot = process.getuid?.() === 0;

/** The TCP ports this process listens on (an inspector would be one), from /proc/net/tcp and its sockets. */
function inspectors(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports: number[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '0A' && inodes.has(c[9])) ports.push(parseInt(c[1].split(':')[1], 16)); // 0A: LISTEN
    }
  }
  return ports;
}

test('B1: the registry deleted mid-run: the ending goes into a new registry at the same path; replaced by garbage: printed, exit 125', async () => {
  const t = setup();
  const go = path.join(t.dir, 'go');
  const task = ['--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; exit 5`];
  const l = t.startLaunch('--name', 'survivor', ...task);
  await running(t);
  for (const f of fs.readdirSync(t.dir)) if (f.startsWith('tw.db')) fs.rmSync(path.join(t.dir, f));
  fs.writeFileSync(go, '');
  const r = await l.result;
  assert.equal(r.code, 5, r.stderr);
  const [h] = await t.json<Hist[]>('--history');
  assert.deepEqual([h.name, h.outcome, h.exitcode], ['survivor', 'exited', 5]);
  assert.match(h.termerror!, /archived into a new registry at .*tw\.db: the one it started in was deleted or replaced while it ran/);

  // Replaced by a file that is no database: nothing is written into it, and the ending is printed.
  fs.rmSync(go);
  const l2 = t.startLaunch('--name', 'printed', ...task);
  await running(t);
  for (const f of fs.readdirSync(t.dir)) if (f.startsWith('tw.db')) fs.rmSync(path.join(t.dir, f));
  fs.writeFileSync(t.db, 'not a database\n');
  fs.writeFileSync(go, '');
  const r2 = await l2.result;
  assert.equal(r2.code, 125);
  assert.match(r2.stderr, /launch: task \d+ ended but could not be archived: .*tw\.db is not a taskwatch database/);
  assert.match(r2.stderr, /launch: the ending was: \{"taskid":\d+,"name":"printed","outcome":"exited","exitcode":5/);
  assert.equal(fs.readFileSync(t.db, 'utf8'), 'not a database\n');

  // control --initialize --force under a live task: its ending is still recorded.
  fs.rmSync(t.db);
  fs.rmSync(go);
  const l3 = t.startLaunch('--name', 'kept', ...task);
  await running(t);
  assert.equal((await t.control('--initialize', '--force')).code, 0);
  fs.writeFileSync(go, '');
  assert.equal((await l3.result).code, 5);
  const hist = await t.json<Hist[]>('--history');
  assert.deepEqual(hist.map((x) => [x.name, x.exitcode]), [['kept', 5]]);
});

test('B2: a feedback path turned into a FIFO, or a link to /dev/zero: nothing hangs or spins, and the ending is archived', async () => {
  const t = setup();
  const ready = path.join(t.dir, 'ready');
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '60', '--', 'sh', '-c', `rm "$TASKWATCH_FEEDBACK"; mkfifo "$TASKWATCH_FEEDBACK"; touch ${ready}; exec sleep 60`);
  await waitFor(() => fs.existsSync(ready), 10_000, 'the FIFO');
  const id = (await running(t)).taskid;
  const fb = await t.control('--feedback', String(id));
  assert.equal(fb.code, 1);
  assert.match(fb.stderr, /cannot read task \d+'s feedback file .*: it is a FIFO, not a regular file/);
  const p = await run(process.execPath, [bin('parse'), '--feedback', feedbackFile(t.db, t.dir, id)], {}, { timeoutMs: 30_000 });
  assert.deepEqual([p.code, p.timedOut], [1, false]);
  assert.match(p.stderr, /it is a FIFO/);
  assert.equal((await t.control('--update')).code, 0);
  const k = await t.control('--kill', String(id), '--grace', '1');
  assert.equal(k.code, 0, k.stderr);
  assert.equal((await l.result).code, 143);
  const [h] = await t.json<Hist[]>('--history');
  assert.match(h.termerror!, /feedback file unreadable at the end: it is a FIFO/);

  const zero = await run(process.execPath, [bin('launch'), '--feedpath', t.dir, '--', 'sh', '-c', 'ln -sf /dev/zero "$TASKWATCH_FEEDBACK"'], t.env, { timeoutMs: 30_000 });
  assert.deepEqual([zero.code, zero.timedOut], [0, false]);
  const [h2] = await t.json<Hist[]>('--history');
  assert.match(h2.termerror!, /feedback file unreadable at the end: it is a symbolic link, which is not followed/);
  assert.deepEqual(h2.feedback, {});
});

test('B3: a pid reused by an unrelated process, even in the same start tick, is never signalled nor taken for the task', async () => {
  const t = setup();
  // A stranger that leads its own group, with the very pid and start time (ticks are 10 ms) that a
  // task's row recorded, the task's launcher being gone: it carries no mark of the task.
  const stranger = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  await waitFor(() => procStartTime(stranger.pid!) !== null);
  const startTick = procStartTime(stranger.pid!)!;
  const id = Number((await t.control('--reserve', '--name', 'ghost')).stdout);
  const d = new Database(t.db);
  d.prepare(`UPDATE tasks SET status = 'RUNNING', starttime = reservetime, command = '["x"]', grace = 1, launcher_pid = ?, launcher_start = ?, pid = ?, pid_start = ? WHERE id = ?`)
    .run(stranger.pid, startTick - 100, stranger.pid, startTick, id);
  if ((d.prepare('PRAGMA table_info(tasks)').all() as Array<{ name: string }>).some((c) => c.name === 'pgid')) d.prepare('UPDATE tasks SET pgid = ? WHERE id = ?').run(stranger.pid, id);
  d.close();
  try {
    assert.equal((await t.json<Live[]>('--list'))[0].status, 'LOST');
    const u = await t.control('--update');
    assert.equal(u.code, 0, u.stderr);
    assert.doesNotMatch(u.stdout, /still run/);
    assert.match(u.stdout, new RegExp(`1 process in its process group ${stranger.pid} carries no mark of it .* and was not signalled; archived as lost`));
    const k = await t.control('--kill', String(id), '--grace', '0.2');
    assert.equal(k.code, 1, 'already archived by --update');
    assert.ok(alive(stranger.pid!), 'the stranger lives');
    const [h] = await t.json<Hist[]>('--history');
    assert.equal(h.outcome, 'lost');
    assert.equal(stranger.signalCode, null);
  } finally {
    stranger.kill('SIGKILL');
  }
});

test('B4: a closed stderr does not kill launch: the task is watched and archived', async () => {
  const t = setup();
  const r = await run('sh', ['-c', `"${process.execPath}" "${bin('launch')}" --name piped -- sh -c 'sleep 0.5; exit 3' 2>&1 | true`], t.env, { timeoutMs: 30_000 });
  assert.equal(r.timedOut, false);
  const h = await waitFor(async () => (await t.json<Hist[]>('--history')).find((x) => x.name === 'piped'), 10_000, 'the ending');
  assert.deepEqual([h.outcome, h.exitcode], ['exited', 3]);
});

test('B5: a SIGTERM before the task runs is recorded and runs nothing; a pid that cannot be recorded stops the task; a row without a pid is never "processes gone"', async () => {
  const t = setup();
  assert.equal((await t.control('--initialize')).code, 0);
  const locker = new Database(t.db);
  locker.exec('BEGIN IMMEDIATE');
  const marker = path.join(t.dir, 'ran');
  const l = t.startLaunch('--name', 'early', '--', 'sh', '-c', `touch ${marker}; exec sleep 60`);
  try {
    await waitFor(() => holds(l.pid!, t.db), 10_000, 'launch to open the registry'); // it now waits for the lock to claim
    l.kill('SIGTERM');
  } finally {
    locker.exec('COMMIT');
    locker.close();
  }
  const r = await l.result;
  assert.equal(r.code, 143, r.stderr);
  assert.equal(fs.existsSync(marker), false, 'the command never ran');
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(h.outcome, 'killed');
  assert.match(h.termerror!, /launch received SIGTERM before the command started, so it never ran/);

  // The registry refuses the pid (a trigger stands in for a lock that outlasts the wait): the task is not left running unrecorded.
  const d = new Database(t.db);
  d.exec(`CREATE TRIGGER no_pid BEFORE UPDATE OF pid ON tasks WHEN NEW.pid IS NOT NULL BEGIN SELECT RAISE(ABORT, 'no pid'); END;`);
  d.close();
  const pidfile = path.join(t.dir, 'p');
  const r2 = await run(process.execPath, [bin('launch'), '--name', 'unrecorded', '--grace', '1', '--', fixture('sleep.sh'), pidfile], t.env, { timeoutMs: 30_000 });
  assert.deepEqual([r2.code, r2.timedOut], [125, false]);
  // Stopped at once: perhaps before it could even write its pid.
  if (fs.existsSync(pidfile)) assert.equal(alive(Number(fs.readFileSync(pidfile, 'utf8'))), false);
  const [h2] = await t.json<Hist[]>('--history');
  assert.match(h2.termerror!, /launch could not record its pid in the registry .* and stopped it rather than let it run unrecorded/);
  const d2 = new Database(t.db);
  d2.exec('DROP TRIGGER no_pid');
  d2.close();

  // A launcher that died before recording its child's pid: the child is found by its mark, not called gone.
  const reg = openRegistry(t.db, { create: false });
  const task = reg.startNew({
    name: 'nopid', command: ['sleep'], feedDir: null, timeoutSec: null, maxTimeSec: null, graceSec: 1, launcher: { pid: 999_999, start: 1 },
    rule: { policy: 'no', maxRestarts: null, backoffMinSec: 0.1, backoffMaxSec: 30 },
    logs: { stdout: null, stderr: null },
  });
  reg.close();
  const child = start('sleep', ['60'], { TASKWATCH_TASKID: String(task.id), TASKWATCH_REGISTRY: registryKey(t.db) });
  try {
    await waitFor(() => alive(child.pid!));
    const u = await t.control('--update');
    assert.match(u.stdout, new RegExp(`task ${task.id}: .* but 1 of its processes still run; left LOST`));
    const k = await t.control('--kill', String(task.id), '--grace', '1');
    assert.equal(k.code, 0, k.stderr);
    await waitFor(() => !alive(child.pid!), 10_000, 'the unrecorded child to be ended');
  } finally {
    child.kill('SIGKILL');
  }
});

test('B6: a write-locked registry delays neither a heartbeat kill nor the signal of control --kill', async () => {
  const t = setup();
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '3', '--grace', '0', '--', fixture('hang.sh'));
  const e = await running(t);
  let locker = new Database(t.db);
  locker.exec('BEGIN IMMEDIATE');
  try {
    await waitFor(() => !alive(e.pid!), 15_000, 'the heartbeat kill while the registry is locked');
  } finally {
    locker.exec('COMMIT');
    locker.close();
  }
  assert.equal((await l.result).code, 124);

  const pidfile = path.join(t.dir, 'c.pid');
  const l2 = t.startLaunch('--name', 'victim', '--', fixture('sleep.sh'), pidfile);
  const child = await readPid(pidfile);
  const id = (await running(t, 'victim')).taskid;
  locker = new Database(t.db);
  locker.exec('BEGIN IMMEDIATE');
  const k = t.control('--kill', String(id), '--grace', '1');
  try {
    await waitFor(() => !alive(child), 15_000, 'the signal of control --kill while the registry is locked');
  } finally {
    locker.exec('COMMIT');
    locker.close();
  }
  const kr = await k;
  assert.equal(kr.code, 0, kr.stderr);
  assert.equal((await l2.result).code, 143);
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(h.outcome, 'killed');
  // The note could not be written before the signal (that would have waited for the lock): the
  // ending credits it if it got in before the archive, else the signal itself.
  assert.match(h.termerror!, /killed by control --kill|launch received SIGTERM/);
});

test('B7: --max-time of 30 days and --timeout of 231 days are honoured, not overflowed', async () => {
  const t = setup();
  const a = await run(process.execPath, [bin('launch'), '--max-time', '2592000', '--', 'sh', '-c', 'sleep 0.3; exit 7'], t.env, { timeoutMs: 30_000 });
  assert.equal(a.code, 7, a.stderr);
  const b = await run(process.execPath, [bin('launch'), '--feedpath', t.dir, '--timeout', '20000000', '--', 'sh', '-c', 'sleep 0.5'], t.env, { timeoutMs: 30_000 });
  assert.equal(b.code, 0, b.stderr);
  assert.doesNotMatch(b.stderr, /Warning/);
});

test('B8: quiet time is measured on the monotonic clock: old mtimes do not kill, a future mtime does not save', async () => {
  const t = setup();
  // Writes whose mtime reads an hour ago are what a forward step of the clock looks like to the watcher.
  const healthy = await run(process.execPath, [bin('launch'), '--feedpath', t.dir, '--timeout', '1', '--', 'sh', '-c',
    'i=0; while [ $i -lt 15 ]; do touch -d "1 hour ago" "$TASKWATCH_FEEDBACK"; sleep 0.1; i=$((i+1)); done'], t.env, { timeoutMs: 30_000 });
  assert.equal(healthy.code, 0, healthy.stderr);
  const hung = await run(process.execPath, [bin('launch'), '--feedpath', t.dir, '--timeout', '1', '--grace', '0', '--max-time', '30', '--', 'sh', '-c',
    'touch -d "1 hour" "$TASKWATCH_FEEDBACK"; exec sleep 60'], t.env, { timeoutMs: 60_000 });
  assert.equal(hung.code, 124);
  const [h] = await t.json<Hist[]>('--history');
  assert.match(h.termerror!, /no heartbeat for 1 s/);
});

test('B9: SIGUSR1 never opens an inspector in launch; it is passed on to the task', async () => {
  const t = setup();
  const got = path.join(t.dir, 'usr1');
  const l = t.startLaunch('--', 'sh', '-c', `trap "touch ${got}" USR1; while :; do sleep 0.05; done`);
  await running(t);
  const before = inspectors(l.pid!);
  l.kill('SIGUSR1');
  await waitFor(() => fs.existsSync(got), 10_000, 'the task to receive SIGUSR1');
  assert.deepEqual(inspectors(l.pid!), before, 'launch opened no listening socket');
  assert.equal(l.exitCode, null);
  l.kill('SIGTERM');
  assert.equal((await l.result).code, 143);
});

test('B10: SIGQUIT, SIGALRM and the like end the task with a record; SIGHUP and SIGINT ignored at start stay ignored (nohup, &)', async () => {
  const t = setup();
  for (const sig of ['SIGQUIT', 'SIGALRM', 'SIGPWR'] as const) {
    const l = t.startLaunch('--name', sig, '--grace', '1', '--', 'sleep', '60');
    await running(t, sig);
    l.kill(sig);
    assert.equal((await l.result).code, 143, sig);
    const [h] = await t.json<Hist[]>('--history');
    assert.deepEqual([h.name, h.outcome], [sig, 'killed']);
    assert.match(h.termerror!, new RegExp(`launch received ${sig}`));
  }
  // launch run as a program, as nohup and `cmd &` in a script start it: with SIGHUP and SIGINT ignored.
  const got = path.join(t.dir, 'usr2');
  const sh = start('sh', ['-c', `trap '' HUP INT; exec "$0" --name nohup -- sh -c 'trap "touch ${got}" USR2; while :; do sleep 0.05; done'`, bin('launch')], t.env);
  const e = await running(t, 'nohup');
  sh.kill('SIGHUP');
  sh.kill('SIGINT');
  process.kill(e.pid!, 'SIGHUP'); // the task ignores it too
  sh.kill('SIGUSR2'); // passed on after the two before it were handled
  await waitFor(() => fs.existsSync(got), 10_000, 'SIGUSR2 to reach the task');
  assert.equal(sh.exitCode, null, 'launch ignored SIGHUP and SIGINT');
  assert.ok(alive(e.pid!), 'the task ignored SIGHUP');
  sh.kill('SIGTERM');
  assert.equal((await sh.result).code, 143);
});

test('B11: a hung task whose launcher was SIGKILLed is still ended at its timeout, by the next control --update', async () => {
  const t = setup();
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '1', '--grace', '1', '--', fixture('hang.sh'));
  const e = await running(t);
  l.kill('SIGKILL');
  await l.exited;
  const u = await waitFor(async () => {
    const r = await t.control('--update');
    return /archived it as timeout/.test(r.stdout) && r;
  }, 15_000, 'control --update to enforce the timeout');
  assert.match(u.stdout, /over its limit \(no heartbeat for 1 s \(--timeout\)\); control sent SIGTERM/);
  assert.equal(alive(e.pid!), false);
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(h.outcome, 'timeout');
  assert.match(h.termerror!, /no heartbeat for 1 s \(--timeout\), enforced by control because its launcher \(pid \d+\) was gone/);
});

test('B12: feedback files are the registry\'s own: no stale file adopted, no other registry\'s beats, no planted link followed', async () => {
  const dir = tmpdir();
  const a = tw(path.join(dir, 'a.db'));
  const b = tw(path.join(dir, 'b.db'));
  // Two registries share the directory; both first tasks are task 1. A's beats must not keep B's alive.
  const beater = a.startLaunch('--feedpath', dir, '--timeout', '30', '--', 'sh', '-c', 'i=0; while [ $i -lt 100 ]; do echo "[i]$i" >> "$TASKWATCH_FEEDBACK"; sleep 0.1; i=$((i+1)); done');
  await waitFor(async () => (await a.json<Live[]>('--list')).some((e) => e.pid), 10_000, 'A running');
  const hung = await run(process.execPath, [bin('launch'), '--feedpath', dir, '--timeout', '1', '--grace', '0', '--', fixture('hang.sh')], b.env, { timeoutMs: 60_000 });
  assert.equal(hung.code, 124);
  assert.equal(beater.exitCode, null, "B's task was killed while A's still beat");
  beater.kill('SIGTERM');
  await beater.result;

  // A file named as the original tool named them, left in the directory, is not this task's feedback.
  const c = tw(path.join(dir, 'c.db'));
  fs.writeFileSync(path.join(dir, 'feedback_1.log'), '[stale]yes\n');
  assert.equal((await c.launch('--feedpath', dir, '--', 'true')).code, 0);
  assert.deepEqual((await c.json<Hist[]>('--history'))[0].feedback, {});

  // A link planted where the next task's feedback file will be: refused, the target untouched.
  const id = (await c.control('--reserve')).stdout.trim();
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'mine\n');
  fs.symlinkSync(victim, feedbackFile(c.db, dir, id));
  const r = await c.launch('--taskid', id, '--feedpath', dir, '--', 'sh', '-c', 'echo "[x]1" >> "$TASKWATCH_FEEDBACK"');
  assert.equal(r.code, 125);
  assert.match(r.stderr, /its feedback file .* already exists: launch makes it fresh and never adopts one/);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'mine\n');
  const [h] = await c.json<Hist[]>('--history');
  assert.equal(h.outcome, 'failed_to_start');
});

test('B13: a task that rewrites its own row cannot make control read or delete another file', async () => {
  const t = setup();
  const victim = path.join(t.dir, 'victim.txt');
  fs.writeFileSync(victim, '[secret]1\n');
  const done = path.join(t.dir, 'done');
  const sqlite = require.resolve('better-sqlite3');
  const script = `const D = require(${JSON.stringify(sqlite)}); const d = new D(process.env.TASKWATCH_DB); const id = Number(process.env.TASKWATCH_TASKID);
    const cols = d.prepare('PRAGMA table_info(tasks)').all().map((c) => c.name);
    if (cols.includes('feedpath')) d.prepare('UPDATE tasks SET feedpath = ? WHERE id = ?').run(${JSON.stringify(victim)}, id);
    if (cols.includes('feeddir')) d.prepare('UPDATE tasks SET feeddir = ? WHERE id = ?').run('/', id);
    d.close(); require('fs').writeFileSync(${JSON.stringify(done)}, ''); setTimeout(() => {}, 60000);`;
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '60', '--', process.execPath, '-e', script);
  await waitFor(() => fs.existsSync(done), 15_000, 'the task to rewrite its row');
  const e = await running(t);
  l.kill('SIGKILL');
  await l.exited;
  process.kill(e.pid!, 'SIGKILL');
  await waitFor(() => !alive(e.pid!));
  const u = await t.control('--update');
  assert.match(u.stdout, /archived as lost/);
  assert.equal(fs.readFileSync(victim, 'utf8'), '[secret]1\n', 'the file is neither read as feedback nor deleted');
  assert.deepEqual((await t.json<Hist[]>('--history'))[0].feedback, {});
});

test('B14: the recorded duration ends when the task exits, not when a registry locked past the busy timeout lets the ending in', async () => {
  const t = setup();
  const go = path.join(t.dir, 'go');
  const pidfile = path.join(t.dir, 'p');
  const l = t.startLaunch('--name', 'short', '--', 'sh', '-c', `echo $$ > ${pidfile}.tmp && mv ${pidfile}.tmp ${pidfile}; while [ ! -e ${go} ]; do sleep 0.05; done`);
  const child = await readPid(pidfile);
  const locker = new Database(t.db);
  locker.exec('BEGIN IMMEDIATE');
  let endedBy = 0;
  try {
    fs.writeFileSync(go, '');
    await waitFor(() => !alive(child), 10_000, 'the task to end');
    endedBy = Date.now() / 1000;
    await sleep(16_000); // a lock that outlasts SQLite's 15 s busy timeout is the scenario
  } finally {
    locker.exec('COMMIT');
    locker.close();
  }
  assert.equal((await l.result).code, 0);
  const [h] = await t.json<Hist[]>('--history');
  assert.ok(h.endtime <= endedBy + 0.5, `endtime ${h.endtime} is the exit (${endedBy}), not the commit 16 s later`);
  assert.ok(Math.abs(h.duration - (h.endtime - h.starttime)) < 0.01);
});

test('B15: feedback is capped in keys and value length, and the archived record says so', async () => {
  const t = setup();
  const r = await t.launch('--feedpath', t.dir, '--', 'sh', '-c',
    `awk 'BEGIN { for (i = 0; i < 5000; i++) printf "[k%d]%d\\n", i, i; printf "[k0]"; for (i = 0; i < 10000; i++) printf "x"; printf "\\n" }' > "$TASKWATCH_FEEDBACK"`);
  assert.equal(r.code, 0, r.stderr);
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(Object.keys(h.feedback).length, 1000);
  assert.equal(h.feedback.k999, '999');
  assert.equal(h.feedback.k1000, undefined);
  assert.equal(h.feedback.k0.length, 4096);
  assert.match(h.termerror!, /feedback capped: 4000 lines with new keys past 1000 keys dropped, 1 values cut to 4096 characters/);
  const big = path.join(t.dir, 'big.log');
  fs.writeFileSync(big, Array.from({ length: 200_000 }, (_, i) => `[key${i}]v`).join('\n'));
  const p = await run(process.execPath, [bin('parse'), '--feedback', big, '--debug']);
  assert.equal(Object.keys(JSON.parse(p.stdout)).length, 1000);
  assert.match(p.stderr, /199000 lines with new keys past 1000 keys dropped/);
});

test('B16: commands that only read create no registry, touch no other program\'s database, and --db \'\' is refused', async () => {
  const dir = tmpdir();
  const home = tmpdir();
  const env = { HOME: home, XDG_STATE_HOME: '', TASKWATCH_DB: '' };
  const control = (...args: string[]) => run(process.execPath, [bin('control'), ...args], env);
  const typo = path.join(dir, 'typo.db');
  for (const cmd of [['--list'], ['--history'], ['--feedback', '1'], ['--kill', '1'], ['--update'], ['--clear']]) {
    const r = await control('--db', typo, ...cmd);
    assert.equal(r.code, 3, cmd.join(' '));
    assert.match(r.stderr, /^control: there is no registry at .*typo\.db; launch or control --reserve creates it\n$/);
  }
  assert.equal(fs.existsSync(typo), false);
  const fleet = path.join(dir, 'tasks.db');
  assert.equal((await run(process.execPath, [bin('task-admin'), 'create', '-f', fleet, '-n', '3'])).code, 0);
  const tables = () => new Database(fleet, { readonly: true }).prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all();
  const before = tables();
  for (const cmd of [['--list'], ['--reserve']]) {
    const r = await control('--db', fleet, ...cmd);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /tasks\.db is an SQLite database of another program \(it holds demo_task\), not a taskwatch registry/);
  }
  assert.deepEqual(tables(), before);
  const empty = await control('--db', '', '--reserve');
  assert.deepEqual([empty.code, empty.stderr], [2, 'control: --db needs a file name or a postgres:// URL\n']);
  const launchEmpty = await run(process.execPath, [bin('launch'), '--db', '', '--', 'true'], env);
  assert.deepEqual([launchEmpty.code, launchEmpty.stderr], [125, 'launch: --db needs a file name or a postgres:// URL\n']);
  const byDefault = await control('--list');
  assert.equal(byDefault.code, 3);
  assert.deepEqual(fs.readdirSync(home), [], 'nothing made under the home directory');
});

test('B17: --timeout without --feedpath is refused with a sentence that points to --max-time', async () => {
  const t = setup();
  const r = await run(process.execPath, [bin('launch'), '--timeout', '1', '--', 'sleep', '3'], t.env, { timeoutMs: 30_000 });
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^launch: --timeout is the heartbeat timeout and needs --feedpath DIR .* use --max-time SEC\n$/);
});

const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

test('B18: a kill by a user who may not signal the task is a sentence, and leaves nothing to be credited with', { skip: !isRoot && 'needs root to run control as another user' }, async (ctx) => {
  const probe = await run(asNobody[0], [...asNobody.slice(1), process.execPath, bin('control'), '--help']);
  if (probe.code !== 0) {
    ctx.diagnostic(`SKIPPED: user nobody cannot run control from ${bin('control')} (the checkout is not readable to other users)`);
    ctx.skip('nobody cannot run control from this checkout');
    return;
  }
  const t = setup();
  fs.chmodSync(t.dir, 0o777);
  const pidfile = path.join(t.dir, 'c.pid');
  const l = t.startLaunch('--name', 'owned', '--', fixture('sleep.sh'), pidfile);
  const child = await readPid(pidfile);
  const id = (await running(t, 'owned')).taskid;
  fs.chmodSync(t.db, 0o666);
  for (const f of ['-wal', '-shm']) if (fs.existsSync(t.db + f)) fs.chmodSync(t.db + f, 0o666);
  const other = start(asNobody[0], [...asNobody.slice(1), process.execPath, bin('control'), '--db', t.db, '--kill', String(id), '--grace', '1']);
  const r = await other.result;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^control: you \\(uid 65534\\) may not signal task ${id}'s launcher \\(pid \\d+\\); ask its owner, or run control as root\\n$`));
  assert.ok(alive(child));
  const k = await t.control('--kill', String(id), '--grace', '1');
  assert.equal(k.code, 0, k.stderr);
  await l.result;
  const [h] = await t.json<Hist[]>('--history');
  assert.match(h.termerror!, /killed by control --kill \(pid \d+\)/);
  assert.doesNotMatch(h.termerror!, new RegExp(`pid ${other.pid}\\)`), 'credited to the kill that was allowed');
});

test('B21: a brand-new registry raced by several processes at the same instant: every one of them opens it', async () => {
  const dir = tmpdir();
  const registry = path.join(ROOT, 'dist', 'src', 'db', 'sqlite.js');
  for (let round = 0; round < 25; round++) {
    const file = path.join(dir, `r${round}.db`);
    const at = Date.now() + 300;
    const rs = await Promise.all(Array.from({ length: 6 }, () => run(process.execPath, [fixture('open-registry.js'), registry, file, String(at)])));
    assert.deepEqual(rs.map((r) => r.code), [0, 0, 0, 0, 0, 0], `round ${round}: ${rs.map((r) => r.stdout).join('')}`);
  }
  assert.deepEqual(fs.readdirSync(dir).filter((f) => !/^r\d+\.db(-wal|-shm)?$/.test(f)), [], 'no half-made file is left');
  const t = tw(path.join(dir, 'r0.db'));
  assert.equal((await t.launch('--', 'true')).code, 0);
});

test('B22: launch started by npx (npm exec) is told when npm goes: it ends its task rather than run on unwatched', async () => {
  const t = setup();
  const pidfile = path.join(t.dir, 'c.pid');
  // npm exec runs the bin through `sh -c`, and passes SIGTERM to that shell only.
  const npm = start('sh', ['-c', `"$0" --name npx -- "$1" "$2"; :`, bin('launch'), fixture('sleep.sh'), pidfile], { ...t.env, npm_command: 'exec' });
  const child = await readPid(pidfile);
  await running(t, 'npx');
  npm.kill('SIGTERM');
  await waitFor(() => !alive(child), 15_000, 'the task to be ended when npm went');
  const h = await waitFor(async () => (await t.json<Hist[]>('--history'))[0], 15_000, 'the ending');
  assert.equal(h.outcome, 'killed');
  assert.match(h.termerror!, /launch received SIGTERM/);
});
