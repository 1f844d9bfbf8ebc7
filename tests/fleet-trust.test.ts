// The fleet's part of the trust issue: a controller that cannot be exhausted (B19), logs that follow
// no planted link and carry no peer's newline (B20), and D: exactly once, compatible with the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { bin, run, start, tmpdir, waitFor } from './helpers';
import { addTasks, admin, dbIn, rawClient, startController, startWorker, tasks } from './demo-helpers';
import { TaskState } from '../src/demo/taskdb';
import { encodeReport } from '../src/demo/frame';
import { freePort } from '../src/showcase/showcase';

test('B19: idle connections cannot exhaust the controller: capped, timed out, and a failed heartbeat write is said', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, [['task_a', 1], ['task_b', 0]]);
  const c = await startController(db, 0, '--interval', '0.3', '--hello-timeout', '1', '--feedback', path.join(tmpdir(), 'no', 'such', 'dir', 'fb'));
  const idle: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 200; i++) {
    const s = net.connect({ host: '127.0.0.1', port: c.port });
    s.on('error', () => {});
    s.on('close', () => closed++);
    idle.push(s);
  }
  await waitFor(() => closed >= 72, 10_000, 'the connections past the cap to be closed at once');
  await waitFor(() => closed === 200, 10_000, 'the idle connections to time out');
  const w = startWorker(c.port, 'real');
  assert.deepEqual(await Promise.all([w.exited, c.exited]), [0, 0]);
  assert.ok(tasks(db).every((r) => r.state === TaskState.Success));
  assert.match(c.log(), /128 connections are waiting to say hello; closing new ones/);
  assert.match(c.log(), /connection \d+ said nothing for 1 s; closing it/);
  assert.match(c.log(), /cannot write the feedback file .*fb: ENOENT/);
  assert.equal(c.log().match(/cannot write the feedback file/g)?.length, 1, 'said once, not at every beat');
});

test('B20: logs follow no planted link, live in a private directory, and show a peer\'s control characters escaped', async () => {
  const dir = tmpdir();
  const db = dbIn(dir);
  addTasks(db, [['task_a', 0]]);
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'mine\n');
  const link = path.join(dir, 'planted.log');
  fs.symlinkSync(victim, link);
  const refused = await run(process.execPath, [bin('task-controller'), '-p', '0', '-d', db, '--log', link]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^task-controller: the log file .*planted\.log is a symbolic link; not followed\n$/);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'mine\n');

  const c = start(process.execPath, [bin('task-controller'), '-p', '0', '-d', db, '--interval', '0.3']);
  const logFile = (await waitFor(() => /logging to (\S+)/.exec(c.stderrSoFar()), 10_000, 'the log path'))[1];
  assert.equal(fs.statSync(path.dirname(logFile)).mode & 0o777, 0o700, 'a private directory');
  const port = Number((await waitFor(() => /listening on 127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(logFile, 'utf8')), 10_000, 'listening'))[1]);
  const raw = await rawClient(port);
  raw.report('evil\nFAKE line', '', 0);
  const a = await raw.next();
  raw.report('evil\nFAKE line', a.taskName, 0);
  await raw.next(2); // the exit frame
  raw.socket.destroy();
  assert.equal(await c.exited, 0);
  const log = fs.readFileSync(logFile, 'utf8');
  assert.match(log, /worker evil\\x0aFAKE line connected/);
  assert.doesNotMatch(log, /^FAKE/m);
});

/** Counts, across the workers' -v logs, how many times each task was done. */
function executions(logs: string[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const log of logs) for (const m of log.matchAll(/task (\S+): done/g)) n.set(m[1], (n.get(m[1]) ?? 0) + 1);
  return n;
}

test('D1: written ahead: 5 SIGKILLs of the controller during 5,000 zero-second tasks, and no task is done twice', async () => {
  const db = dbIn(tmpdir());
  assert.equal((await admin('create', '-f', db, '-n', '5000', '--max-sleep', '0')).code, 0);
  const port = await freePort();
  let c = await startController(db, port, '--interval', '0.3', '--margin', '3');
  const ws = ['w1', 'w2', 'w3', 'w4'].map((id) => startWorker(port, id));
  const done = () => ws.reduce((n, w) => n + (w.stderrSoFar().match(/: done/g)?.length ?? 0), 0);
  for (let kill = 1; kill <= 5; kill++) {
    await waitFor(() => done() >= kill * 800, 30_000, `${kill * 800} tasks done`);
    c.kill('SIGKILL');
    await c.exited;
    c = await startController(db, port, '--interval', '0.3', '--margin', '3');
  }
  assert.deepEqual(await Promise.all([c.exited, ...ws.map((w) => w.exited)]), [0, 0, 0, 0, 0]);
  const n = executions(ws.map((w) => w.stderrSoFar()));
  const twice = [...n].filter(([, k]) => k > 1);
  assert.deepEqual(twice, [], 'no task done twice');
  assert.equal(n.size, 5000, 'every task done');
  assert.ok(tasks(db).every((r) => r.state === TaskState.Success));
});

test('D2: databases made by task-admin and the controller hold no NULL worker, which the original controller cannot read', async () => {
  const db = dbIn(tmpdir());
  assert.equal((await admin('create', '-f', db, '-n', '20', '--max-sleep', '0')).code, 0);
  assert.equal((await admin('add', '-f', db, '--name', 'named', '--sleep', '0')).code, 0);
  const nulls = () => (new Database(db, { readonly: true }).prepare('SELECT COUNT(*) AS n FROM demo_task WHERE worker IS NULL').get() as { n: number }).n;
  assert.equal(nulls(), 0);
  const c = await startController(db, 0, '--interval', '0.3');
  const w = startWorker(c.port, 'w');
  assert.deepEqual(await Promise.all([w.exited, c.exited]), [0, 0]);
  assert.equal(nulls(), 0);
});

test('D3: the last worker is told to exit once, as the original does', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, [['task_x', 0]]);
  const c = await startController(db, 0, '--interval', '60');
  const raw = await rawClient(c.port);
  raw.report('w', '', 0);
  assert.equal((await raw.next()).taskName, 'task_x');
  raw.report('w', 'task_x', 0);
  await waitFor(() => raw.isClosed(), 10_000, 'the controller to close');
  assert.equal(await c.exited, 0);
  assert.deepEqual(raw.got.map((a) => a.taskName), ['task_x', ''], 'one exit frame');
});

test('D4: the original limits on names: task-admin refuses, the controller closes an oversized hello, the worker exits with a sentence', async () => {
  const db = dbIn(tmpdir());
  const long = await admin('add', '-f', db, '--name', 't'.repeat(28));
  assert.equal(long.code, 2);
  assert.match(long.stderr, /is 28 bytes; the original worker takes task names of at most 27; not added/);
  assert.equal(fs.existsSync(db), false, 'nothing made for a refused task');
  addTasks(db, [['task_ok', 0], [`task_${'x'.repeat(25)}`, 0]]); // a 30-byte name, put there by another tool
  const c = await startController(db, 0, '--interval', '0.3');
  for (let i = 0; i < 3; i++) {
    const s = net.connect({ host: '127.0.0.1', port: c.port });
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r));
    s.write(Buffer.concat([Buffer.from([4 + 32 + 29 + 4, 0, 0, 0]), Buffer.from(`${'w'.repeat(31)}\0${'t'.repeat(28)}\0`), Buffer.alloc(4)]));
    await new Promise((r) => s.once('close', r));
  }
  const w = startWorker(c.port, 'w');
  assert.deepEqual(await Promise.all([w.exited, c.exited]), [0, 0]);
  assert.equal(c.log().match(/the original controller takes at most 58; closing it/g)?.length, 1, 'said once');
  assert.match(c.log(), /task 'task_x{25}' has a name of 30 bytes, more than the 27 a worker accepts; it is not dispatched/);
  assert.equal(tasks(db).find((r) => r.task_name === 'task_ok')?.state, TaskState.Success);

  // A controller that sends a name the original worker could not take: the worker says so and exits.
  const fake = net.createServer((s) => s.once('data', () => s.write(Buffer.concat([Buffer.from([4 + 29 + 4, 0, 0, 0]), Buffer.from(`${'t'.repeat(28)}\0`), Buffer.alloc(4)]))));
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const r = await run(process.execPath, [bin('task-worker'), '-v', '-p', String((fake.address() as net.AddressInfo).port), '-w', 'w'], {}, { timeoutMs: 30_000 });
  fake.close();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /task-worker: the controller sent a task name of 28 bytes; the original worker takes at most 27; this worker cannot take it/);
  assert.ok(encodeReport({ workerId: 'w'.repeat(31), taskName: 't'.repeat(27), timeLeft: 0 }).length > 0);
});

test('D5: -h prints help and exits 0, for task-admin create as for every command', async () => {
  for (const [cmd, args] of [['task-admin', ['create', '-h']], ['task-admin', ['-h']], ['control', ['-h']], ['parse', ['-h']], ['task-controller', ['-h']], ['task-worker', ['-h']]] as const) {
    const r = await run(process.execPath, [bin(cmd), ...args]);
    assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Options:/);
  }
});
