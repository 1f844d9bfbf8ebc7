import { setTimeout as sleep } from 'node:timers/promises';
import { alive, signalTask, type TaskTarget } from './members';

export type TerminateResult = 'terminated' | 'killed' | 'gone';

/** Most groups die within a few ms of SIGTERM: look again soon, then back off to every 20 ms. */
const POLL_MS = [1, 2, 4, 8, 16, 20];
/** After SIGKILL, how long to wait for the processes to be gone (a process in D state can take a while). */
const AFTER_KILL_MS = 5000;

/**
 * SIGTERM to the task's processes, then SIGKILL to whatever remains after `graceMs`, even when
 * the leader has already exited. The members are not our children, so nothing tells us when they
 * go: only during this bounded window are they polled (the cgroup's populated flag, or the proven
 * pids). Not inotify on cgroup.events: a launcher holds no inotify instance, so a thousand tasks
 * killed at once cannot exhaust the user's 128 and skip their grace (a failed watch did).
 */
export async function terminate(t: TaskTarget, graceMs: number): Promise<TerminateResult> {
  if (signalTask(t, 'SIGTERM') === 0) return 'gone';
  signalTask(t, 'SIGCONT'); // a stopped process cannot act on SIGTERM until it runs again
  if (await emptied(t, graceMs)) return 'terminated';
  if (signalTask(t, 'SIGKILL') === 0) return 'terminated';
  await emptied(t, AFTER_KILL_MS);
  return 'killed';
}

async function emptied(t: TaskTarget, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let i = 0; ; i++) {
    if (!alive(t)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(POLL_MS[Math.min(i, POLL_MS.length - 1)], Math.max(1, deadline - Date.now())));
  }
}
