// What one watching launcher costs its machine, as behaviour rather than timing: it holds no
// inotify instance (a thousand launchers would exhaust the user's 128, and every other program of
// that user with them), and writes by other tasks into its feedback directory do not wake it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freshRegistry, run, runningId, waitFor } from './helpers';

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
