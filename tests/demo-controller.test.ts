import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { bin, run, start, tmpdir, waitFor } from './helpers';
import { decodeReport, encodeAssignment, encodeReport, FrameReader, MIN_REPORT_FRAME } from '../src/demo/frame';
import { addTasks, admin, dbIn, rawClient, startController, startWorker, tasks } from './demo-helpers';
import { TaskState } from '../src/demo/taskdb';
import { freePort } from '../src/showcase/showcase';


test('task-admin create and check, with the original table and state names', async () => {
  const db = dbIn(tmpdir());
  const c = await admin('create', '-f', db, '-n', '25', '--max-sleep', '3');
  assert.deepEqual([c.code, c.stdout], [0, 'Created 25 tasks\n']);
  const rows = tasks(db);
  assert.equal(rows.length, 25);
  for (const r of rows) {
    assert.match(r.task_name, /^task_\d+$/);
    assert.ok(r.sleep_time >= 0 && r.sleep_time <= 3);
    assert.equal(r.state, TaskState.Created);
  }
  const check = await admin('check', '-f', db);
  assert.match(check.stdout.split('\n')[1], /│ Task name\s+│ Sleep time │ State\s+│ Worker │ Assign time │ Complete time │/);
  assert.match(check.stdout, /│ task_\d+\s+│ \d\s+│ TaskCreated │/);
  const json = JSON.parse((await admin('check', '-f', db, '--json')).stdout);
  assert.equal(json.length, 25);
  assert.deepEqual(Object.keys(json[0]), ['task_name', 'sleep_time', 'state', 'worker', 'assign_time', 'complete_time', 'state_name']);
  const missing = await admin('check', '-f', dbIn(tmpdir()));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no task database at/);
});

test('controller: a missing database is a sentence and exit 1; no unfinished tasks means exit 0', async () => {
  const dir = tmpdir();
  const r = await run(process.execPath, [bin('task-controller'), '-v', '-p', '0', '-d', dbIn(dir)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the task database .* does not exist; create it with task-admin create/);
  addTasks(dbIn(dir), []);
  const empty = await run(process.execPath, [bin('task-controller'), '-v', '-p', '0', '-d', dbIn(dir)]);
  assert.equal(empty.code, 0);
  assert.match(empty.stderr, /no unfinished tasks/);
});

test('wire: split frames, several frames in one read, and malformed frames close only that connection', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, Array.from({ length: 6 }, (_, i): [string, number] => [`task_${i}`, 0]));
  const c = await startController(db, 0, '--interval', '60');
  try {
    // A report written one byte at a time is still one frame.
    const split = await rawClient(c.port);
    for (const byte of encodeReport({ workerId: 'slow', taskName: '', timeLeft: 0 })) {
      split.socket.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    const a1 = await split.next();
    assert.match(a1.taskName, /^task_\d$/);
    // Two reports in one write get two answers.
    const both = await rawClient(c.port);
    both.socket.write(Buffer.concat([encodeReport({ workerId: 'two', taskName: '', timeLeft: 0 }), encodeReport({ workerId: 'two', taskName: '', timeLeft: 0 })]));
    await both.next(2);
    // Garbage: an absurd length, a too-short frame, a body that does not parse, a 32-byte id.
    const junk: Buffer[] = [
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      Buffer.from([5, 0, 0, 0, 0]),
      Buffer.concat([Buffer.from([14, 0, 0, 0]), Buffer.from('abcdefghij')]),
      Buffer.concat([Buffer.from([43, 0, 0, 0]), Buffer.from(`${'w'.repeat(32)}\0t\0`), Buffer.alloc(4)]),
    ];
    for (const j of junk) {
      const bad = await rawClient(c.port);
      bad.socket.write(j);
      await waitFor(() => bad.isClosed(), 15_000, `the controller to close on ${j.toString('hex')}`);
      assert.equal(bad.got.length, 0);
    }
    // The well-behaved client is still served.
    split.report('slow', a1.taskName, 0);
    const a2 = await split.next(2);
    assert.notEqual(a2.taskName, a1.taskName);
    assert.equal(c.exitCode, null, 'the controller is still running');
    assert.match(c.log(), /frame length 4294967295 is outside/);
  } finally {
    c.kill('SIGKILL');
  }
});

test('dispatch: workers take every task; the controller and workers exit 0 when the work is done', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, [['task_1', 0], ['task_2', 1], ['task_3', 0], ['task_4', 1], ['task_5', 0], ['task_6', 0]]);
  const c = await startController(db, 0, '--interval', '0.5');
  const ws = ['w1', 'w2'].map((id) => startWorker(c.port, id));
  const codes = await Promise.all([c.exited, ...ws.map((w) => w.exited)]);
  assert.deepEqual(codes, [0, 0, 0]);
  const rows = tasks(db);
  for (const r of rows) {
    assert.equal(r.state, TaskState.Success, r.task_name);
    assert.ok(['w1', 'w2'].includes(r.worker!));
    assert.ok(r.complete_time! >= r.assign_time!);
  }
});

test('slacker: its task is taken back after sleep + margin, the slacker told to exit, the task done by another', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, [['task_slow', 1]]);
  const c = await startController(db, 0, '--interval', '0.5', '--margin', '1');
  const slacker = startWorker(c.port, 'lazy', '-s', '--slack', '30');
  await waitFor(() => tasks(db)[0].worker === 'lazy');
  const good = startWorker(c.port, 'good');
  assert.deepEqual(await Promise.all([slacker.exited, good.exited, c.exited]), [0, 0, 0]);
  const [t] = tasks(db);
  assert.deepEqual([t.state, t.worker], [TaskState.Success, 'good']);
  assert.match(c.log(), /task task_slow .* on lazy: slacker; marked TaskKilled/);
});

test('restart: workers retry, reconnect and keep their assignments', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, [['task_long', 3]]);
  const port = await freePort();
  const c1 = await startController(db, port, '--interval', '0.5');
  const w = startWorker(port, 'steady');
  // Written ahead, the database holds the assignment a moment before the worker does: wait for the worker.
  await waitFor(() => /task task_long: sleeping/.test(w.stderrSoFar()), 15_000, 'the worker to take the task');
  const before = tasks(db).find((t) => t.state === TaskState.Running && t.worker === 'steady')!;
  c1.kill('SIGKILL');
  await c1.exited;
  const c2 = await startController(db, port, '--interval', '0.5');
  await waitFor(() => /worker steady connected .* reporting 'task_long' with \d+ s left/.test(c2.log()), 15_000, 'the worker to reconnect');
  assert.deepEqual(await Promise.all([w.exited, c2.exited]), [0, 0]);
  const [t] = tasks(db);
  assert.deepEqual([t.state, t.worker, t.assign_time], [TaskState.Success, 'steady', before.assign_time]);
  // Whole seconds, and a worker may report a second late on a busy machine; not a task restarted from zero (it would take 3 more).
  assert.ok(t.complete_time! - before.assign_time! >= 3 && t.complete_time! - before.assign_time! <= 5, 'the worker kept its own timing');
});

test('new tasks added while running are picked up at the next interval', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, [['task_first', 1]]);
  const c = await startController(db, 0, '--interval', '0.3');
  const w = startWorker(c.port, 'w');
  await waitFor(() => tasks(db)[0].state === TaskState.Running);
  assert.equal((await admin('create', '-f', db, '-n', '3', '--max-sleep', '0')).code, 0);
  assert.deepEqual(await Promise.all([c.exited, w.exited]), [0, 0]);
  const rows = tasks(db);
  assert.equal(rows.length, 4);
  assert.ok(rows.every((r) => r.state === TaskState.Success));
});

test('database removed: the controller tells the workers to exit, then exits', async () => {
  const dir = tmpdir();
  const db = dbIn(dir);
  addTasks(db, [['task_forever', 100], ['task_also', 100]]);
  const c = await startController(db, 0, '--interval', '0.3');
  const w = startWorker(c.port, 'w');
  await waitFor(() => tasks(db).some((t) => t.state === TaskState.Running));
  for (const f of fs.readdirSync(dir)) fs.rmSync(`${dir}/${f}`);
  assert.deepEqual(await Promise.all([w.exited, c.exited]), [0, 1]);
  assert.match((await c.result).stderr, /task database .* was removed or replaced; told the workers to exit/);
});

test('a lost connection marks its task TaskKilled and it is redispatched', async () => {
  const db = dbIn(tmpdir());
  addTasks(db, [['task_x', 1]]);
  const c = await startController(db, 0, '--interval', '60');
  const raw = await rawClient(c.port);
  raw.report('doomed', '', 0);
  assert.equal((await raw.next()).taskName, 'task_x');
  raw.socket.destroy();
  await waitFor(() => tasks(db)[0].state === TaskState.Killed, 15_000, 'TaskKilled');
  const w = startWorker(c.port, 'rescuer');
  assert.deepEqual(await Promise.all([w.exited, c.exited]), [0, 0]);
  assert.equal(tasks(db)[0].worker, 'rescuer');
});

test('worker wire: an assignment split across reads and two in one read are each done and reported, in order', async () => {
  // A fake controller. The worker runs as installed (its own banner: V8 without the JIT) and reads
  // into one reused buffer, so a partial frame must be kept whole and two frames kept apart.
  const reports: Array<[string, string, number]> = [];
  let conn: net.Socket | undefined;
  const server = net.createServer((s) => {
    conn = s;
    s.setNoDelay(true);
    const reader = new FrameReader(MIN_REPORT_FRAME);
    s.on('data', (d: Buffer) => reader.push(d).forEach((b) => {
      const r = decodeReport(b);
      reports.push([r.workerId, r.taskName, r.timeLeft]);
    }));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const w = start(bin('task-worker'), ['-v', '-p', String((server.address() as net.AddressInfo).port), '-w', 'w']);
    await waitFor(() => reports.length >= 1, 15_000, 'the hello');
    assert.deepEqual(reports[0], ['w', '', 0]);
    const t1 = encodeAssignment({ taskName: 'task_one', sleepTime: 0 });
    for (const byte of t1) {
      conn!.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 2)); // most bytes arrive in reads of their own
    }
    await waitFor(() => reports.length >= 2, 15_000, 'the report of task_one');
    conn!.write(Buffer.concat([encodeAssignment({ taskName: 'task_two', sleepTime: 0 }), encodeAssignment({ taskName: 'task_three', sleepTime: 0 })]));
    await waitFor(() => reports.length >= 4, 15_000, 'the reports of task_two and task_three');
    conn!.write(encodeAssignment({ taskName: '', sleepTime: 0 }));
    assert.equal(await w.exited, 0, w.stderrSoFar());
    assert.deepEqual(reports.slice(1), [['w', 'task_one', 0], ['w', 'task_two', 0], ['w', 'task_three', 0]]);
    assert.match(w.stderrSoFar(), /task-worker w: task task_one: done at once \(0 s\)\n/);
    assert.doesNotMatch(w.stderrSoFar(), /Warning/, 'V8 warned of its flags');
  } finally {
    server.close();
    conn?.destroy();
  }
});
