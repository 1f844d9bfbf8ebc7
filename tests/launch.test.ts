import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, fixture, waitFor } from './helpers';
import { eachBackend, feedbackFileOf, keyOf } from './backends';
import { openFor } from '../src/db/open';

interface Live {
  taskid: number;
  pid: number | null;
  status: string;
  timer: number | null;
  name: string;
}
interface Hist {
  taskid: number;
  outcome: string;
  exitcode: number | null;
  termsignal: string | null;
  termerror: string | null;
  feedback: Record<string, string>;
  command: string[];
}

const taskidOf = (stderr: string) => Number(/taskid (\d+)/.exec(stderr)?.[1]);
const readPid = async (file: string): Promise<number> => Number(await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, "utf8").trim(), 15_000, `pid in ${file}`));

eachBackend('exit status: the child\'s code, 128+N for a signal, 127 not found, 126 not executable, 125 unreserved id', async (t) => {
  const plain = path.join(t.dir, 'not-executable.sh');
  fs.writeFileSync(plain, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  const cases: Array<[string[], number, string, RegExp | null]> = [
    [['--', 'true'], 0, 'exited', null],
    [['--', 'sh', '-c', 'exit 3'], 3, 'exited', /exited with code 3/],
    [['--', 'sh', '-c', 'kill -USR1 $$'], 138, 'signaled', /killed by SIGUSR1/],
    [['--', 'no-such-command-xyz'], 127, 'failed_to_start', /command not found: no-such-command-xyz/],
    [['--', fixture('hang.sh') + '.missing'], 127, 'failed_to_start', /command not found/],
    [['--', plain], 126, 'failed_to_start', /command not executable/],
  ];
  for (const [args, code, outcome, err] of cases) {
    const r = await t.launch(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    const [h] = await t.json<Hist[]>('--history', '--limit', '1');
    assert.equal(h.outcome, outcome);
    if (err) assert.match(h.termerror ?? '', err);
  }
  const unreserved = await t.launch('--taskid', '4242', '--', 'true');
  assert.equal(unreserved.code, 125);
  assert.match(unreserved.stderr, /^launch: task 4242 is not reserved/);
  const bad = await t.launch('--timeout', 'soon', '--', 'true');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /--timeout needs a number of seconds above 0; got 'soon'/);
  const none = await t.launch('--max-time', '5');
  assert.equal(none.code, 125);
  assert.match(none.stderr, /no command given/);
  const nodir = await t.launch('--feedpath', path.join(t.dir, 'absent'), '--', 'true');
  assert.equal(nodir.code, 125);
  assert.match(nodir.stderr, /--feedpath .*absent does not exist/);
});

eachBackend('the command runs as given (no shell, no splitting) with TASKWATCH_* in its environment', async (t) => {
  const id = (await t.control('--reserve')).stdout.trim();
  const r = await t.launch('--taskid', id, '--feedpath', t.dir, '--', fixture('env.sh'), 'two words', '$HOME', 'a;b');
  assert.equal(r.code, 0, r.stderr);
  const key = await keyOf(t.db);
  assert.equal(r.stdout, [`id=${id}`, `db=${t.db}`, `registry=${key}`, `fb=${await feedbackFileOf(t.db, t.dir, id)}`, 'arg=two words', 'arg=$HOME', 'arg=a;b', ''].join('\n'));
  assert.match(key, /^[0-9a-f]{8}$/);
  const sh = await t.launch('--', 'sh', '-c', 'echo a; echo b');
  assert.equal(sh.stdout, 'a\nb\n');
});

eachBackend('status goes RUNNING, SILENT, STALLED, then the task is killed at the timeout', async (t) => {
  // Each status lasts 4 s or more: a busy machine's list, a spawned control each time, still sees it
  // (a 1.5 s window was missed once on PostgreSQL with the whole suite running).
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '16', '--grace', '1', '--', fixture('hang.sh'));
  const seen: string[] = [];
  const list = async () => (await t.json<Live[]>('--list'))[0];
  await waitFor(async () => {
    const e = await list();
    if (e && seen[seen.length - 1] !== e.status) seen.push(e.status);
    return !e && seen.length > 0;
  }, 40_000, 'the task to end');
  const r = await l.result;
  assert.equal(r.code, 124);
  assert.deepEqual(seen, ['RUNNING', 'SILENT', 'STALLED']);
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(h.outcome, 'timeout');
  assert.match(h.termerror!, /no heartbeat for 16 s/);
  assert.deepEqual(h.feedback, { state: 'started' });
});

eachBackend('the launcher writes status changes to the registry as they happen', async (t) => {
  // SILENT from 4 s to 8 s: a 20 ms poll sees it even on a busy machine on PostgreSQL (a 1 s window
  // was missed once in CI, with two test files and the server sharing two cores). Once STALLED is
  // stored the launcher is stopped: other tests see a timeout's kill, and this one needs no wait for it.
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '16', '--grace', '0', '--', fixture('hang.sh'));
  // The row as stored (the launcher's own word), not the status control derives.
  const reg = await waitFor(() => openFor(t.db, { create: false }));
  const stored: string[] = [];
  await waitFor(() => {
    const row = reg.liveTasks()[0];
    if (row && row.state !== stored[stored.length - 1]) stored.push(row.state);
    return stored.includes('STALLED');
  }, 20_000, 'STALLED in the tasks table');
  reg.close();
  assert.deepEqual(stored.filter((s) => s !== 'RESERVED' && s !== 'RUNNING'), ['SILENT', 'STALLED']);
  l.kill('SIGTERM');
  assert.equal((await l.result).code, 143);
});

eachBackend('a steady heartbeat keeps a task alive past its timeout; its final feedback is archived and the file removed', async (t) => {
  const r = await t.launch('--feedpath', t.dir, '--timeout', '0.8', '--', fixture('beat.sh'), '0.1', '20');
  assert.equal(r.code, 0, r.stderr);
  const id = taskidOf(r.stderr);
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(h.outcome, 'exited');
  assert.deepEqual(h.feedback, { result: 'done after 20 beats' });
  assert.equal(fs.existsSync(await feedbackFileOf(t.db, t.dir, id)), false);
});

eachBackend('--keep-feedback leaves the file after archiving', async (t) => {
  const r = await t.launch('--feedpath', t.dir, '--keep-feedback', '--', fixture('beat.sh'), '0', '1');
  const id = taskidOf(r.stderr);
  assert.match(fs.readFileSync(await feedbackFileOf(t.db, t.dir, id), 'utf8'), /\[result\]done after 1 beats/);
});

eachBackend('a timeout kills the whole group: grandchildren do not survive', async (t) => {
  const pidfile = path.join(t.dir, 'gc.pid');
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '0.5', '--grace', '2', '--', fixture('grandchild.sh'), pidfile);
  const gc = await readPid(pidfile);
  assert.ok(alive(gc));
  assert.equal((await l.result).code, 124);
  assert.equal(alive(gc), false, 'the grandchild is gone when launch exits');
});

eachBackend('a child that ignores SIGTERM is SIGKILLed after the grace', async (t) => {
  const ready = path.join(t.dir, 'ready');
  const started = Date.now();
  const l = t.startLaunch('--max-time', '0.3', '--grace', '0.7', '--', fixture('ignore-term.sh'), ready);
  const r = await l.result;
  const took = Date.now() - started;
  assert.equal(r.code, 124);
  assert.ok(took >= 1000, `waited the grace before SIGKILL (${took} ms)`);
  const [h] = await t.json<Hist[]>('--history');
  assert.deepEqual([h.outcome, h.termsignal], ['timeout', 'SIGKILL']);
  assert.match(h.termerror!, /ran longer than --max-time 0.3 s/);
});

eachBackend('control --kill: the launcher escalates and archives as killed', async (t) => {
  const pidfile = path.join(t.dir, 'c.pid');
  const l = t.startLaunch('--name', 'victim', '--', fixture('sleep.sh'), pidfile);
  const child = await readPid(pidfile);
  const id = (await waitFor(async () => (await t.json<Live[]>('--list')).find((e) => e.pid === child))).taskid;
  const k = await t.control('--kill', String(id), '--grace', '1');
  assert.equal(k.code, 0, k.stderr);
  assert.equal(k.stdout, `task ${id} killed and archived (outcome killed)\n`);
  assert.equal((await l.result).code, 143);
  const [h] = await t.json<Hist[]>('--history');
  assert.deepEqual([h.taskid, h.outcome, h.termsignal], [id, 'killed', 'SIGTERM']);
  assert.match(h.termerror!, /killed by control --kill/);
  assert.equal(alive(child), false);
});

eachBackend('control --killall kills every running task with that name, and only those', async (t) => {
  const ls = [1, 2, 3].map((i) => t.startLaunch('--name', i < 3 ? 'batch' : 'other', '--', fixture('sleep.sh'), path.join(t.dir, `p${i}`)));
  for (const i of [1, 2, 3]) await readPid(path.join(t.dir, `p${i}`));
  const k = await t.control('--killall', 'batch', '--grace', '1');
  assert.equal(k.code, 0, k.stderr);
  assert.equal(k.stdout.trim().split('\n').length, 2);
  assert.deepEqual([(await ls[0].result).code, (await ls[1].result).code], [143, 143]);
  const live = await t.json<Live[]>('--list');
  assert.deepEqual(live.map((e) => e.name), ['other']);
  await t.control('--kill', String(live[0].taskid));
  await ls[2].result;
});

eachBackend('SIGTERM sent to launch itself terminates the group and archives as killed', async (t) => {
  const pidfile = path.join(t.dir, 'c.pid');
  const l = t.startLaunch('--', fixture('sleep.sh'), pidfile);
  const child = await readPid(pidfile);
  l.kill('SIGTERM');
  assert.equal((await l.result).code, 143);
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(h.outcome, 'killed');
  assert.match(h.termerror!, /launch received SIGTERM/);
  assert.equal(alive(child), false);
});

eachBackend('a SIGKILLed launcher shows LOST; --kill still reaches its child; --update archives what is gone', async (t) => {
  const pidfile = path.join(t.dir, 'c.pid');
  const l = t.startLaunch('--feedpath', t.dir, '--timeout', '60', '--', fixture('sleep.sh'), pidfile);
  const child = await readPid(pidfile);
  await waitFor(async () => (await t.json<Live[]>('--list'))[0]?.pid === child);
  l.kill('SIGKILL');
  await l.exited; // not l.result: the orphaned child still holds launch's stdout
  const [e] = await t.json<Live[]>('--list');
  assert.equal(e.status, 'LOST');
  const u = await t.control('--update');
  assert.match(u.stdout, /its launcher \(pid \d+\) was gone but 1 of its processes still run; left LOST/);
  assert.ok(alive(child), '--update does not kill a LOST task');
  const k = await t.control('--kill', String(e.taskid), '--grace', '1');
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stdout, /launcher \(pid \d+\) was gone; control sent SIGTERM to its processes and archived it as killed/);
  assert.equal(alive(child), false);
  const [h] = await t.json<Hist[]>('--history');
  assert.equal(h.outcome, 'killed');

  // A launcher and child that are both gone: --update archives the row as lost.
  const l2 = t.startLaunch('--', fixture('sleep.sh'), path.join(t.dir, 'c2.pid'));
  const child2 = await readPid(path.join(t.dir, 'c2.pid'));
  await waitFor(async () => (await t.json<Live[]>('--list'))[0]?.pid === child2);
  l2.kill('SIGKILL');
  await l2.exited;
  process.kill(child2, 'SIGKILL');
  await waitFor(() => !alive(child2));
  const u2 = await t.control('--update');
  assert.match(u2.stdout, /archived as lost/);
  const [h2] = await t.json<Hist[]>('--history');
  assert.equal(h2.outcome, 'lost');
  assert.deepEqual(await t.json('--list'), []);
});

eachBackend('a reserved task cannot be killed; an ended one says so', async (t) => {
  const id = (await t.control('--reserve')).stdout.trim();
  const k = await t.control('--kill', id);
  assert.equal(k.code, 1);
  assert.equal(k.stderr, `control: task ${id} is reserved but not running; nothing to kill\n`);
  const r = await t.launch('--taskid', id, '--', 'true');
  assert.equal(r.code, 0);
  const again = await t.control('--kill', id);
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`task ${id} has already ended \\(outcome exited\\); nothing to kill`));
  const relaunch = await t.launch('--taskid', id, '--', 'true');
  assert.equal(relaunch.code, 125);
  assert.match(relaunch.stderr, /has already run and ended/);
});

eachBackend('two launchers racing for one taskid: one runs, the other exits 125', async (t) => {
  for (let round = 0; round < 3; round++) {
    const id = (await t.control('--reserve')).stdout.trim();
    const rs = await Promise.all([t.launch('--taskid', id, '--', 'true'), t.launch('--taskid', id, '--', 'true')]);
    assert.deepEqual(rs.map((r) => r.code).sort(), [0, 125], rs.map((r) => r.stderr).join('|'));
    assert.match(rs.find((r) => r.code === 125)!.stderr, /another launcher has already taken it|has already run and ended/);
  }
  assert.equal((await t.json<Hist[]>('--history')).length, 3);
});

eachBackend('30 concurrent launches into one database: all archived, none lost', async (t) => {
  const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => t.launch('--name', `c${i}`, '--feedpath', t.dir, '--', 'sh', '-c', `echo "[i]${i}" > "$TASKWATCH_FEEDBACK"; exit ${i % 4}`)));
  rs.forEach((r, i) => assert.equal(r.code, i % 4, r.stderr));
  const hist = await t.json<Array<Hist & { name: string }>>('--history', '--limit', '100');
  assert.equal(hist.length, 30);
  assert.equal(new Set(hist.map((h) => h.taskid)).size, 30);
  for (const h of hist) assert.deepEqual(h.feedback, { i: h.name.slice(1) });
  assert.deepEqual(await t.json('--list'), []);
});
