// control --wait: blocks until tasks have ended for good, then exits with their status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { watchRegistry } from '../src/db/changes';
import { bin, childrenOf, fixture, start, tmpdir, waitFor, freshRegistry, type Fresh, runningId } from './helpers';

interface Live {
  taskid: number;
  name: string;
  pid: number | null;
}

const waiter = (t: Fresh, ...args: string[]) => start(process.execPath, [bin('control'), '--wait', ...args], t.env, { timeoutMs: 60_000 });
/** A wait is waiting once it watches each task's launcher (one pidfd watcher, a child process, per task). */
const watching = (w: ReturnType<typeof waiter>, n: number) => waitFor(() => childrenOf(w.pid!).length >= n, 15_000, `the wait to watch ${n} launchers`);

test('--wait returns each task\'s own exit status: 0, 7, 124 (timeout) and 137 (SIGKILL)', async () => {
  const t = freshRegistry();
  const go = path.join(t.dir, 'go');
  const gated = (code: string) => ['--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; ${code}`];
  t.startLaunch('--name', 'ok', ...gated('exit 0'));
  t.startLaunch('--name', 'seven', ...gated('exit 7'));
  t.startLaunch('--name', 'killed', ...gated('kill -KILL $$'));
  t.startLaunch('--name', 'hung', '--feedpath', t.dir, '--timeout', '2', '--grace', '0', '--', fixture('hang.sh'));
  const ids = await Promise.all(['ok', 'seven', 'hung', 'killed'].map((n) => runningId(t, n)));
  const waits = ids.map((id) => waiter(t, String(id)));
  for (const w of waits) await watching(w, 1);
  fs.writeFileSync(go, '');
  const rs = await Promise.all(waits.map((w) => w.result));
  assert.deepEqual(rs.map((r) => r.code), [0, 7, 124, 137], rs.map((r) => r.stderr).join(''));
  assert.match(rs[1].stdout, new RegExp(`^task ${ids[1]} ended: exited, exit status 7\\n$`));
  // Already ended: at once, the same status.
  const again = await t.control('--wait', String(ids[1]));
  assert.equal(again.code, 7);
  const json = await t.control('--wait', ...ids.map(String), '--json');
  assert.equal(json.code, 7, 'the first non-zero status, in the order given');
  assert.deepEqual(JSON.parse(json.stdout).map((w: { status: number }) => w.status), [0, 7, 124, 137]);
});

test('--wait --name waits for every live task of that name; --timeout gives up with 124', async () => {
  const t = freshRegistry();
  const go = path.join(t.dir, 'go');
  for (let i = 0; i < 3; i++) {
    // One after the other, so that ids follow the exit codes 0, 1, 2.
    t.startLaunch('--name', 'batch', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; exit ${i}`);
    await waitFor(async () => (await t.json<Live[]>('--list')).filter((e) => e.pid).length === i + 1, 15_000, `${i + 1} running`);
  }
  const short = await t.control('--wait', '--name', 'batch', '--timeout', '0.5');
  assert.equal(short.code, 124);
  assert.match(short.stderr, /^control: waited 0\.5 s; still running: tasks \d+, \d+, \d+\n$/);
  const w = waiter(t, '--name', 'batch');
  await watching(w, 3);
  fs.writeFileSync(go, '');
  const r = await w.result;
  assert.equal(r.code, 1, 'the first non-zero status');
  assert.equal(r.stdout.trim().split('\n').length, 3);
});

test('--wait on a restarting task returns after its last run; on a LOST one at once, with 125', async () => {
  const t = freshRegistry();
  t.startLaunch('--name', 'retry', '--restart', 'on-failure', '--max-restarts', '2', '--backoff', '0.3', '--', 'sh', '-c', 'sleep 0.2; exit 4');
  const id = await runningId(t, 'retry');
  const r = await waiter(t, String(id)).result;
  assert.equal(r.code, 4);
  assert.match(r.stdout, /ended: exited \(run 3\), exit status 4/);
  const l = t.startLaunch('--name', 'orphan', '--', 'sleep', '60');
  const lost = await runningId(t, 'orphan');
  const w = waiter(t, String(lost));
  await watching(w, 1);
  l.kill('SIGKILL'); // the launcher dies: no registry change, but its pidfd tells the wait
  const rl = await w.result;
  assert.equal(rl.code, 125);
  assert.match(rl.stdout, /is LOST \(its launcher is gone\)/);
  await t.control('--kill', String(lost), '--grace', '0');
});

test('--wait: an unknown id is a sentence; --feedback --follow ends with the task\'s exit status', async () => {
  const t = freshRegistry();
  await t.control('--initialize');
  const unknown = await t.control('--wait', '42');
  assert.deepEqual([unknown.code, unknown.stderr.trim()], [1, `control: there is no task 42 in ${t.db}; nothing to wait for`]);
  const usage = await t.control('--wait');
  assert.equal(usage.code, 2);
  const go = path.join(t.dir, 'go');
  t.startLaunch('--name', 'five', '--feedpath', t.dir, '--', 'sh', '-c', `echo "[a]1" > "$TASKWATCH_FEEDBACK"; while [ ! -e ${go} ]; do sleep 0.05; done; exit 5`);
  const id = await runningId(t, 'five');
  const f = start(process.execPath, [bin('control'), '--feedback', String(id), '--follow'], t.env, { timeoutMs: 60_000 });
  await waitFor(() => f.stdoutSoFar().includes('{"a":"1"}'), 15_000, 'the follower');
  fs.writeFileSync(go, '');
  assert.equal((await f.result).code, 5);
});

test('watchRegistry looks again after a burst: a commit that becomes visible after its WAL write is still seen', async () => {
  // SQLite writes the WAL (inotify sees it), then publishes the commit in shared memory (nothing
  // sees that): a reader woken by the write alone could miss the state it brought, for good.
  const dir = tmpdir();
  const file = path.join(dir, 'tw.db');
  let visible = false;
  let seen = false;
  const stop = watchRegistry(file, () => {
    if (visible) seen = true;
  });
  try {
    fs.writeFileSync(`${file}-wal`, 'frame');
    setTimeout(() => (visible = true), 100); // the commit shows only after the last event
    await waitFor(() => seen, 5_000, 'the watcher to see the published commit');
  } finally {
    stop();
  }
});
