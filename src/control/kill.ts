import { ExitError, EXIT } from '../errors';
import { parseId, parseSeconds } from '../cli/args';
import type { Registry } from '../db/registry';
import type { LaunchedTask, Task } from '../task/model';
import { endingOf } from '../task/outcome';
import { endTask } from '../archive';
import { isSameProcess } from '../proc/identity';
import { terminateGroup } from '../proc/terminate';
import type { CommandRun } from './command';
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
  return killOne(reg, t, graceSec);
}

/** Kills every running task with that name, all at once. */
export async function killAll(reg: Registry, name: string, graceSec?: number): Promise<KillReport[]> {
  const tasks = reg.tasksNamed(name).filter((t) => t.state !== 'RESERVED');
  if (tasks.length === 0) throw new ExitError(`no running task is named '${name}'; nothing to kill`, EXIT.refused);
  return Promise.all(tasks.map((t) => killOne(reg, t, graceSec)));
}

const launcherAlive = (t: LaunchedTask) => t.launcher !== null && isSameProcess(t.launcher.pid, t.launcher.start);

async function killOne(reg: Registry, task: Task, graceSec?: number): Promise<KillReport> {
  if (task.state === 'RESERVED') throw new ExitError(`task ${task.id} is reserved but not running; nothing to kill`, EXIT.refused);
  let t: LaunchedTask = task;
  const grace = graceSec ?? t.graceSec;
  if (launcherAlive(t)) {
    // The launcher escalates TERM -> KILL on the whole group and archives; we ask and wait.
    reg.requestKill(t.id, graceSec ?? null, `killed by control --kill (pid ${process.pid})`);
    try {
      if (t.launcher && launcherAlive(t)) process.kill(t.launcher.pid, 'SIGTERM');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
    const deadline = Date.now() + (grace + MARGIN_SEC) * 1000;
    while (Date.now() < deadline) {
      if (!reg.task(t.id)) {
        const h = reg.historyOf(t.id);
        return { id: t.id, state: 'archived', message: `task ${t.id} killed and archived (outcome ${h?.outcome ?? 'unknown'})` };
      }
      if (!launcherAlive(t)) break; // died without archiving: handle as lost
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const still = reg.task(t.id);
    if (!still) return { id: t.id, state: 'archived', message: `task ${t.id} killed and archived` };
    if (launcherAlive(t)) {
      return { id: t.id, state: 'pending', message: `task ${t.id}: its launcher (pid ${t.launcher?.pid}) was asked to stop it, but it was not archived within ${grace + MARGIN_SEC} s` };
    }
    if (still.state === 'RESERVED') throw new ExitError(`task ${t.id} is reserved but not running; nothing to kill`, EXIT.refused);
    t = still;
  }
  return killLost(reg, t, grace);
}

/** The launcher is gone: signal the identity-checked group ourselves and archive the task. */
async function killLost(reg: Registry, t: LaunchedTask, grace: number): Promise<KillReport> {
  const result = t.leader ? await terminateGroup({ pgid: t.leader.pid, leaderStart: t.leader.start }, grace * 1000) : 'gone';
  const reached = result === 'terminated' || result === 'killed';
  const lost = `its launcher (pid ${t.launcher?.pid ?? '?'}) was gone`;
  const ending = reached
    ? endingOf({ code: null, signal: result === 'killed' ? 'SIGKILL' : 'SIGTERM' }, { kind: 'killed', note: `killed by control --kill (pid ${process.pid}); ${lost}` })
    : endingOf(null, {
      kind: 'lost',
      note: result === 'not-ours' ? `${lost}; pid ${t.leader?.pid} belongs to another process now and was not signalled` : `${lost} and so was its process group`,
    });
  await endTask(reg, t.id, t.watch?.feedFile ?? null, ending);
  const message = reached
    ? `task ${t.id}: ${lost}; control sent ${result === 'killed' ? 'SIGTERM then SIGKILL' : 'SIGTERM'} to its process group ${t.leader?.pid} and archived it as killed`
    : result === 'not-ours'
      ? `task ${t.id}: ${lost} and pid ${t.leader?.pid} now belongs to another process, which was not signalled; archived as lost`
      : `task ${t.id}: ${lost} and its processes had already ended; archived as lost`;
  return { id: t.id, state: 'archived', message };
}

function report(reports: KillReport[], json: boolean, out: (s: string) => void): number {
  if (json) out(JSON.stringify(reports));
  else for (const r of reports) out(r.message);
  return reports.every((r) => r.state === 'archived') ? EXIT.ok : EXIT.refused;
}

const graceOf = (g: string | undefined) => (g === undefined ? undefined : parseSeconds(g, '--grace', EXIT.usage, true));

/** control --kill ID [--grace S] */
export const run: CommandRun = async (a, reg, out) => report([await killTask(reg, parseId(a.kill, '--kill', EXIT.usage), graceOf(a.grace))], a.json, out);

/** control --killall NAME [--grace S] */
export const runAll: CommandRun = async (a, reg, out) => report(await killAll(reg, String(a.killall), graceOf(a.grace)), a.json, out);
