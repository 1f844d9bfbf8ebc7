// What one watching launcher costs its machine, as behaviour rather than timing: it holds no
// inotify instance (a thousand launchers would exhaust the user's 128, and every other program of
// that user with them), and writes by other tasks into its feedback directory do not wake it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freshRegistry, run, runningId, waitFor } from './helpers';
import { HELPER_PATH } from '../src/launch/heartbeat';
import { processesNamed } from '../src/proc/identity';

/** How many inotify instances a process holds (each is an fd on anon_inode:inotify). */
function inotifyFds(pid: number): number {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

/** Times the main thread went to sleep and was woken (not preemptions: those are involuntary). */
const wakeups = (pid: number) => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))![1]);

test('a watching launcher holds no inotify instance, sleeps through its neighbours\' writes, and holds none while it kills', async () => {
  const t = freshRegistry();
  // The task outlives SIGTERM (its trap notes it), so its kill waits out the grace: the window in which an older launcher watched cgroup.events.
  const termed = path.join(t.dir, 'termed');
  const l = t.startLaunch('--name', 'quiet', '--feedpath', t.dir, '--timeout', '600', '--grace', '60', '--', 'sh', '-c',
    `trap 'echo TERM >> "${termed}"' TERM; echo "[beat]1" >> "$TASKWATCH_FEEDBACK"; while :; do sleep 1; done`);
  const id = await runningId(t, 'quiet');
  const pid = l.pid!;
  await waitFor(() => fs.readdirSync(t.dir).some((f) => f.startsWith(`feedback_${id}-`) && fs.statSync(path.join(t.dir, f)).size > 0), 15_000, 'the first heartbeat');
  assert.equal(inotifyFds(pid), 0, 'inotify instances held while watching');

  // 100 writes by others into the same directory, spaced so that each would be an event of its own:
  // a launcher watching the directory woke for every one of them.
  const before = wakeups(pid);
  const w = await run('sh', ['-c', `for i in $(seq 100); do echo "[beat]$i" > "${t.dir}/other_$i.log"; sleep 0.01; done`]);
  assert.equal(w.code, 0, w.stderr);
  const woke = wakeups(pid) - before;
  assert.ok(woke < 20, `the launcher woke ${woke} times for 100 writes that were not its task's`);

  // control --kill; the task ignores SIGTERM: the launcher waits out the grace, and holds no inotify instance meanwhile.
  const kill = t.control('--kill', String(id));
  const child = (await t.json<Array<{ taskid: number; pid: number }>>('--list')).find((e) => e.taskid === id)!.pid;
  await waitFor(() => fs.existsSync(termed), 15_000, 'the task to get SIGTERM');
  for (let i = 0; i < 25; i++) {
    assert.equal(inotifyFds(pid), 0, 'inotify instances held while ending the task');
    await new Promise((r) => setTimeout(r, 40));
  }
  process.kill(child, 'SIGKILL'); // the grace would last a minute: end it
  const k = await kill;
  assert.equal(k.code, 0, k.stderr);
  await l.result;
  const [h] = await t.json<Array<{ taskid: number; outcome: string }>>('--history');
  assert.equal(h.taskid, id);
  assert.equal(h.outcome, 'killed');
});

// Skipped where the build had no C compiler (launch then looks itself); CI requires it.
const noHelper = HELPER_PATH === null && !process.env.TASKWATCH_REQUIRE_HELPER && 'tw-beat-watch was not built (no C compiler): launch looks at feedback files itself';

/** The launcher's tw-beat-watch, if it has one now. */
const helperOf = (launcher: number): number | null => processesNamed('tw-beat-watch').find((p) => p.ppid === launcher)?.pid ?? null;

/** True while the main thread sleeps in epoll with no timeout at all: no timer of Node's is armed (x86-64 syscall numbers). */
function sleepsWithoutTimer(pid: number): boolean {
  const f = fs.readFileSync(`/proc/${pid}/task/${pid}/syscall`, 'utf8').trim().split(' ');
  return ['232', '281', '441'].includes(f[0]) && (f[4] === '0xffffffff' || f[4] === '0xffffffffffffffff');
}

const beatUntil = (go: string) => `while [ ! -e ${go} ]; do echo "[beat]x" >> "$TASKWATCH_FEEDBACK"; sleep 0.1; done; exec sleep 600`;

test('a task that beats steadily never wakes its launcher: tw-beat-watch looks at each quarter timeout, and hands back when the beats stop (the kill at the timeout, then the helper ends)', { skip: noHelper || (process.arch !== 'x64' && 'reads x86-64 syscall numbers') }, async () => {
  const t = freshRegistry();
  const go = path.join(t.dir, 'go');
  // No --max-time: its timer would be armed all along.
  const l = t.startLaunch('--name', 'steady', '--feedpath', t.dir, '--timeout', '2', '--grace', '0', '--', 'sh', '-c', beatUntil(go));
  const id = await runningId(t, 'steady');
  const helper = await waitFor(() => helperOf(l.pid!), 15_000, 'the launcher to start tw-beat-watch');
  // Its start-up timers spent (V8's memory reducer, a few seconds in), the launcher arms none: the helper looks.
  await waitFor(() => sleepsWithoutTimer(l.pid!), 30_000, 'the launcher asleep with no timer armed');
  assert.equal((await t.json<Array<{ taskid: number; status: string }>>('--list')).find((e) => e.taskid === id)?.status, 'RUNNING');
  fs.writeFileSync(go, '');
  assert.equal((await l.result).code, 124);
  const [h] = await t.json<Array<{ taskid: number; outcome: string; termerror: string }>>('--history');
  assert.deepEqual([h.taskid, h.outcome], [id, 'timeout']);
  assert.match(h.termerror, /no heartbeat for 2 s/);
  await waitFor(() => !fs.existsSync(`/proc/${helper}`), 15_000, 'tw-beat-watch to end with its launcher');
});

test('tw-beat-watch killed in the middle of a watch: the launcher looks itself from then on and still ends the task at its timeout', { skip: noHelper }, async () => {
  const t = freshRegistry();
  const go = path.join(t.dir, 'go');
  const l = t.startLaunch('--name', 'orphaned', '--feedpath', t.dir, '--timeout', '2', '--grace', '0', '--max-time', '60', '--', 'sh', '-c', beatUntil(go));
  await runningId(t, 'orphaned');
  const helper = await waitFor(() => helperOf(l.pid!), 15_000, 'the launcher to start tw-beat-watch');
  process.kill(helper, 'SIGKILL');
  await waitFor(() => !fs.existsSync(`/proc/${helper}`), 15_000, 'tw-beat-watch gone');
  fs.writeFileSync(go, '');
  assert.equal((await l.result).code, 124);
  const [h] = await t.json<Array<{ outcome: string; termerror: string }>>('--history');
  assert.equal(h.outcome, 'timeout');
  assert.match(h.termerror, /no heartbeat for 2 s/, 'ended by the heartbeat timeout, not by --max-time');
});
