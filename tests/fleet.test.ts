import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { bin, run, tmpdir, tw, waitFor } from './helpers';
import { addTasks, tasks } from './demo-helpers';
import { TaskState } from '../src/demo/taskdb';

interface Live {
  taskid: number;
  name: string;
  pid: number | null;
  status: string;
}

test('the fleet under launch: a SIGSTOPped worker goes SILENT, STALLED, is killed by its launcher, and its task is finished by another', async () => {
  const dir = tmpdir();
  const t = tw(path.join(dir, 'tw.db'));
  const taskDb = path.join(dir, 'tasks.db');
  addTasks(taskDb, [['task_a', 3], ['task_b', 1], ['task_c', 1]]);
  const watched = (name: string, timeout: string, cmd: string, ...args: string[]) =>
    t.startLaunch('--name', name, '--feedpath', dir, '--timeout', timeout, '--grace', '1', '--', process.execPath, bin(cmd), '-v', ...args);

  const ctl = watched('ctl', '3', 'task-controller', '-p', '0', '-d', taskDb, '--interval', '0.5', '--margin', '5');
  let ctlErr = '';
  ctl.stderr!.on('data', (d) => (ctlErr += d));
  const port = Number((await waitFor(() => /listening on 127\.0\.0\.1:(\d+)/.exec(ctlErr), 15_000, 'the controller'))[1]);
  const ctlId = Number(/taskid (\d+)/.exec(ctlErr)![1]);

  const a = watched('worker-a', '5', 'task-worker', '-p', String(port), '-w', 'a'); // SILENT lasts 1.25 s: a busy machine's list still sees it
  await waitFor(() => tasks(taskDb).find((r) => r.task_name === 'task_a')?.worker === 'a', 15_000, 'task_a on worker a');
  const b = watched('worker-b', '3', 'task-worker', '-p', String(port), '-w', 'b');

  // Anyone can follow the fleet: the controller's and workers' feedback is live.
  const fb = await waitFor(async () => {
    const f = await t.json<Record<string, string>>('--feedback', String(ctlId));
    return f.workers_connected === '2' && f;
  }, 15_000, 'two workers in the controller feedback');
  assert.deepEqual(Object.keys(fb).sort(), ['port', 'role', 'tasks_created', 'tasks_done', 'tasks_killed', 'tasks_running', 'tasks_total', 'workers_connected']);
  assert.equal(fb.port, String(port));
  const aRow = (await t.json<Live[]>('--list')).find((r) => r.name === 'worker-a')!;
  // The worker rewrites its feedback every 0.5 s: the assignment (written ahead in the table) shows at its next write.
  const aFb = await waitFor(async () => {
    const f = await t.json<Record<string, string>>('--feedback', String(aRow.taskid));
    return f.current_task === 'task_a' && f;
  }, 15_000, "worker a's feedback to show task_a");
  assert.deepEqual([aFb.worker_id, aFb.current_task, aFb.connected], ['a', 'task_a', 'yes']);
  assert.ok(Number(aFb.time_left) > 0);

  process.kill(aRow.pid!, 'SIGSTOP');
  const seen: string[] = [];
  await waitFor(async () => {
    const row = (await t.json<Live[]>('--list')).find((r) => r.taskid === aRow.taskid);
    if (row && seen[seen.length - 1] !== row.status) seen.push(row.status);
    return !row;
  }, 20_000, 'worker a to be killed');
  assert.deepEqual(seen.filter((s) => s !== 'RUNNING'), ['SILENT', 'STALLED']);
  assert.equal(await a.exited, 124);

  assert.deepEqual(await Promise.all([b.exited, ctl.exited]), [0, 0]);
  const rows = tasks(taskDb);
  assert.ok(rows.every((r) => r.state === TaskState.Success), JSON.stringify(rows));
  assert.equal(rows.find((r) => r.task_name === 'task_a')!.worker, 'b', 'the stalled worker\'s task was finished by the other');
  const hist = await t.json<Array<{ name: string; outcome: string; feedback: Record<string, string> }>>('--history');
  const byName = Object.fromEntries(hist.map((h) => [h.name, h]));
  assert.equal(byName['worker-a'].outcome, 'timeout');
  assert.equal(byName['worker-b'].outcome, 'exited');
  assert.equal(byName.ctl.outcome, 'exited');
  assert.equal(byName['worker-b'].feedback.tasks_done, '3');
  assert.equal(byName.ctl.feedback.tasks_done, '3');
});

test('npm run demo (quick): the showcase finishes on its own, exits 0 and cleans up', async () => {
  const r = await run(process.execPath, [bin('demo'), '--quick']);
  assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
  assert.match(r.stdout, /pool workers made: 3 of 3 running/);
  // The demo polls control --list, so a short state (SILENT lasts 0.75 s here) may fall between two
  // looks on a busy machine: assert what must be seen, not every step.
  const seen = r.stdout.split('\n').filter((l) => /^workers\.\d is /.test(l)).join('\n');
  const stopped = /SIGSTOP workers\.1 \(pid (\d+)\)/.exec(r.stdout)![1];
  assert.match(seen, new RegExp(`workers\\.1 is (SILENT|STALLED) \\(pid ${stopped}, 0 restarts\\)`), `the stopped worker went quiet:\n${seen}`);
  const back = /workers\.1 is RUNNING \(pid (\d+), ([1-9]\d*) restarts?\)/.exec(seen);
  assert.ok(back && back[1] !== stopped, `the stalled worker restarted, as a new process:\n${seen}`);
  const victim = /SIGKILL workers\.2 \(pid (\d+)\)/.exec(r.stdout)![1];
  const replaced = /workers\.2 is RUNNING \(pid (\d+), ([1-9]\d*) restarts?\)/.exec(seen);
  assert.ok(replaced && replaced[1] !== victim, `the SIGKILLed worker replaced:\n${seen}`);
  assert.match(r.stdout, /pool workers scaled: 4 of 4 running \(was 3\)/);
  assert.match(r.stdout, /task \d+ killed and archived \(outcome killed\)/);
  assert.match(r.stdout, /control --wait exited 0; the controller exited 0/);
  assert.match(r.stdout, /pool workers deleted/);
  assert.match(r.stdout, /== all \d+ tasks TaskSuccess/);
  const dir = /task-admin check -f (\S+)\/tasks\.db/.exec(r.stdout)![1];
  assert.equal(fs.existsSync(dir), false, 'the temporary directory is removed');
  const left = (await run('ps', ['-eo', 'pid,args'])).stdout.split('\n').filter((l) => l.includes(dir));
  assert.deepEqual(left, [], 'no process of the demo (the pool supervisor included) outlives it');
  const bad = await run(process.execPath, [bin('demo'), '--bogus']);
  assert.equal(bad.code, 2);
});
