import { setTimeout as sleep } from 'node:timers/promises';
import { ExitError, EXIT } from '../errors';
import { parseId, parseSeconds } from '../cli/args';
import { isBusy } from '../db/errors';
import type { Registry } from '../db/registry';
import type { LaunchedTask, Task } from '../task/model';
import type { Command } from './command';
import { elsewhereNote, isHere, launcherAlive } from '../lost';
import { describeUnknown } from './lookup';
import { hostName } from '../proc/host';
import { settleLost } from '../lost';

/** How long past the grace `--kill` waits for the launcher to archive before it says it did not. */
const MARGIN_SEC = 5;
const POLL_MS = 25;
/** On PostgreSQL: how often a kill's wait looks whether the launcher's lock was freed without an archive (it died). */
const LOCK_LOOK_MS = 1000;

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

/** The sentence for a signal this user may not send; nothing has been written by then. */
function notAllowed(t: LaunchedTask, what: string): ExitError {
  return new ExitError(`you (uid ${process.getuid?.()}) may not signal task ${t.id}'s ${what}; ask its owner, or run control as root`, EXIT.refused);
}

async function killOne(reg: Registry, task: Task, graceSec?: number): Promise<KillReport> {
  if (task.state === 'RESERVED') throw new ExitError(`task ${task.id} is reserved but not running; nothing to kill`, EXIT.refused);
  const t: LaunchedTask = task;
  const grace = graceSec ?? t.graceSec;
  // On a registry shared by hosts, the note says which host's control asked.
  const note = `killed by control --kill (pid ${process.pid})${reg.locks ? ` on ${hostName()}` : ''}`;
  if (!launcherAlive(t) && !isHere(t)) throw new ExitError(elsewhereNote(t), EXIT.refused);
  if (!launcherAlive(t) || !t.launcher) return lost(reg, t, note, grace);
  // A pool's instance shares its launcher (the pool's supervisor) with the others: a signal would stop them all.
  if (reg.locks || t.pool !== null) return killThroughRegistry(reg, t, graceSec, note);

  // The launcher escalates TERM -> KILL and archives; we ask and wait. May we? Asked before the
  // note is written, so that a refused kill leaves nothing to be credited with a later one.
  const launcher = t.launcher.pid;
  try {
    process.kill(launcher, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPERM') throw notAllowed(t, `launcher (pid ${launcher})`);
  }
  // The note is advice: a locked registry must not hold up the signal (the launcher credits a late note).
  let noted = leaveNote(reg, t.id, graceSec, note);
  try {
    if (launcherAlive(t)) process.kill(launcher, 'SIGTERM');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH') {
      reg.withdrawKill(t.id, note);
      if (code === 'EPERM') throw notAllowed(t, `launcher (pid ${launcher})`);
      throw err;
    }
  }
  const deadline = Date.now() + (grace + MARGIN_SEC) * 1000;
  while (Date.now() < deadline) {
    if (!reg.task(t.id)) {
      const h = reg.historyOf(t.id);
      return { id: t.id, state: 'archived', message: `task ${t.id} killed and archived (outcome ${h?.outcome ?? 'unknown'})` };
    }
    if (!launcherAlive(t)) break; // died without archiving: settled below
    noted ||= leaveNote(reg, t.id, graceSec, note);
    await sleep(POLL_MS);
  }
  const still = reg.task(t.id);
  if (!still || still.state === 'RESERVED') return { id: t.id, state: 'archived', message: `task ${t.id} killed and archived` };
  if (launcherAlive(still)) {
    return { id: t.id, state: 'pending', message: `task ${t.id}: its launcher (pid ${launcher}) was asked to stop it, but it was not archived within ${grace + MARGIN_SEC} s` };
  }
  return lost(reg, still, note, grace);
}

/**
 * The request travels through the registry: on PostgreSQL written with a NOTIFY that the launcher,
 * on whatever host, LISTENs for (so no pid of another host is ever signalled from here); for a pool's
 * instance on SQLite, seen by its supervisor's watch of the file. The launcher ends the task and
 * archives it, and that change wakes this wait. A launcher that dies instead says nothing: a look
 * every LOCK_LOOK_MS catches it gone.
 */
async function killThroughRegistry(reg: Registry, t: LaunchedTask, graceSec: number | undefined, note: string): Promise<KillReport> {
  const grace = graceSec ?? t.graceSec;
  const outcome = await new Promise<'archived' | 'lost' | 'pending'>((resolve, reject) => {
    const look = () => {
      try {
        const now = reg.task(t.id);
        if (!now || now.state === 'RESERVED') done('archived');
        else if (!launcherAlive(now)) done(reg.task(t.id) ? 'lost' : 'archived');
      } catch (err) {
        stop();
        reject(err);
      }
    };
    const stop = reg.watch(look); // before the request: its answer cannot slip by unheard
    const backstop = setInterval(look, LOCK_LOOK_MS);
    const timer = setTimeout(() => done('pending'), (grace + MARGIN_SEC) * 1000);
    function done(o: 'archived' | 'lost' | 'pending') {
      stop();
      clearInterval(backstop);
      clearTimeout(timer);
      resolve(o);
    }
    try {
      reg.requestKill(t.id, graceSec ?? null, note);
    } catch (err) {
      done('pending');
      reject(err);
      return;
    }
    look();
  });
  if (outcome === 'archived') {
    const h = reg.historyOf(t.id);
    return { id: t.id, state: 'archived', message: `task ${t.id} killed and archived (outcome ${h?.outcome ?? 'unknown'})` };
  }
  const still = reg.task(t.id);
  if (outcome === 'lost' && still && still.state !== 'RESERVED') return lost(reg, still, note, grace);
  return { id: t.id, state: 'pending', message: `task ${t.id}: its launcher (pid ${t.launcher?.pid} on ${t.host}) was asked to stop it, but it was not archived within ${grace + MARGIN_SEC} s` };
}

/** Writes the kill request without waiting on a writer's lock; false when the registry is locked. */
function leaveNote(reg: Registry, id: number, graceSec: number | undefined, note: string): boolean {
  reg.setBusyTimeout(0);
  try {
    reg.requestKill(id, graceSec ?? null, note);
    return true;
  } catch (err) {
    if (isBusy(err)) return false;
    throw err;
  } finally {
    reg.setBusyTimeout(15000);
  }
}

/** The launcher is gone: control proves which processes are still the task's, ends them and archives. */
async function lost(reg: Registry, t: LaunchedTask, note: string, grace: number): Promise<KillReport> {
  try {
    const s = await settleLost(reg, t, { note, graceSec: grace });
    return { id: t.id, state: s.archived ? 'archived' : 'pending', message: s.message };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'EACCES') throw notAllowed(t, 'processes');
    throw err;
  }
}

function report(reports: KillReport[], json: boolean, out: (s: string) => void): number {
  if (json) out(JSON.stringify(reports));
  else for (const r of reports) out(r.message);
  return reports.every((r) => r.state === 'archived') ? EXIT.ok : EXIT.refused;
}

const graceOf = (g: string | undefined) => (g === undefined ? undefined : parseSeconds(g, '--grace', EXIT.usage, true));

/** control --kill ID [--grace S] */
export const command: Command = (a) => {
  const id = parseId(a.kill, '--kill', EXIT.usage);
  const grace = graceOf(a.grace);
  return async (reg, out) => report([await killTask(reg, id, grace)], a.json, out);
};

/** control --killall NAME [--grace S] */
export const commandAll: Command = (a) => {
  const grace = graceOf(a.grace);
  return async (reg, out) => report(await killAll(reg, String(a.killall), grace), a.json, out);
};
