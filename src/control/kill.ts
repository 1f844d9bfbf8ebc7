import { ExitError, EXIT } from '../errors';
import type { Registry, TaskRow } from '../db/registry';
import { isSameProcess } from '../proc/identity';
import { DEFAULT_GRACE_SEC, terminateGroup } from '../proc/terminate';
import { endTask } from '../ending';
import { describeUnknown } from './lookup';

/** How long past the grace `--kill` waits for the launcher to archive before it says it did not. */
const MARGIN_SEC = 5;
const POLL_MS = 25;

export interface KillReport {
  id: number;
  /** archived: the task is in history; pending: asked but not archived within grace + margin. */
  state: 'archived' | 'pending';
  message: string;
}

export async function killTask(reg: Registry, id: number, graceSec?: number): Promise<KillReport> {
  const t = reg.task(id);
  if (!t) throw describeUnknown(reg, id, 'nothing to kill');
  return killRow(reg, t, graceSec);
}

/** Kills every running task with that name, all at once. */
export async function killAll(reg: Registry, name: string, graceSec?: number): Promise<KillReport[]> {
  const rows = reg.tasksNamed(name).filter((t) => t.status !== 'RESERVED');
  if (rows.length === 0) throw new ExitError(`no running task is named '${name}'; nothing to kill`, EXIT.refused);
  return Promise.all(rows.map((t) => killRow(reg, t, graceSec)));
}

async function killRow(reg: Registry, t: TaskRow, graceSec?: number): Promise<KillReport> {
  if (t.status === 'RESERVED') {
    throw new ExitError(`task ${t.id} is reserved but not running; nothing to kill`, EXIT.refused);
  }
  const grace = graceSec ?? t.grace ?? DEFAULT_GRACE_SEC;
  if (isSameProcess(t.launcher_pid, t.launcher_start)) {
    // The launcher escalates TERM -> KILL on the whole group and archives; we ask and wait.
    reg.requestKill(t.id, graceSec ?? null, `killed by control --kill (pid ${process.pid})`);
    try {
      if (isSameProcess(t.launcher_pid, t.launcher_start)) process.kill(t.launcher_pid as number, 'SIGTERM');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    const deadline = Date.now() + (grace + MARGIN_SEC) * 1000;
    while (Date.now() < deadline) {
      if (!reg.task(t.id)) {
        const h = reg.historyOf(t.id);
        return { id: t.id, state: 'archived', message: `task ${t.id} killed and archived (outcome ${h?.outcome ?? 'unknown'})` };
      }
      if (!isSameProcess(t.launcher_pid, t.launcher_start)) break; // died without archiving: handle as lost
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const still = reg.task(t.id);
    if (!still) return { id: t.id, state: 'archived', message: `task ${t.id} killed and archived` };
    if (isSameProcess(t.launcher_pid, t.launcher_start)) {
      return { id: t.id, state: 'pending', message: `task ${t.id}: its launcher (pid ${t.launcher_pid}) was asked to stop it, but it was not archived within ${grace + MARGIN_SEC} s` };
    }
    t = still;
  }
  return killLost(reg, t, grace);
}

/** The launcher is gone: signal the identity-checked group ourselves and archive the task. */
async function killLost(reg: Registry, t: TaskRow, grace: number): Promise<KillReport> {
  const result = t.pid != null && t.pid_start != null ? await terminateGroup({ pgid: t.pid, leaderStart: t.pid_start }, grace * 1000) : 'gone';
  const reached = result === 'terminated' || result === 'killed';
  const lost = `its launcher (pid ${t.launcher_pid ?? '?'}) was gone`;
  await endTask(reg, t.id, t.feedpath, {
    outcome: reached ? 'killed' : 'lost',
    exitcode: null,
    termsignal: reached ? (result === 'killed' ? 'SIGKILL' : 'SIGTERM') : null,
    termerror: reached
      ? `killed by control --kill (pid ${process.pid}); ${lost}`
      : result === 'not-ours'
        ? `${lost}; pid ${t.pid} belongs to another process now and was not signalled`
        : `${lost} and so was its process group`,
  });
  const message = reached
    ? `task ${t.id}: ${lost}; control sent ${result === 'killed' ? 'SIGTERM then SIGKILL' : 'SIGTERM'} to its process group ${t.pid} and archived it as killed`
    : result === 'not-ours'
      ? `task ${t.id}: ${lost} and pid ${t.pid} now belongs to another process, which was not signalled; archived as lost`
      : `task ${t.id}: ${lost} and its processes had already ended; archived as lost`;
  return { id: t.id, state: 'archived', message };
}
