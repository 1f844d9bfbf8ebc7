import { ExitError, EXIT } from '../errors';
import { parseId, parseSeconds } from '../cli/args';
import type { Registry } from '../db/registry';
import { watchExit, type ExitWatch } from '../proc/exit-watch';
import { recordedStatus } from '../task/outcome';
import type { Command } from './command';
import { historyEntry } from './entries';
import { isHere, launcherAlive } from '../lost';
import { describeUnknown } from './lookup';

// control --wait ID... | --wait --name NAME [--timeout S]: blocks until the tasks have ended for good
// (a restarting task: its last run), as pueue wait and nq -w do. It wakes when the registry changes
// (inotify on its directory) or when a task's launcher exits (pidfd): nothing sleeps in a loop.

export interface Waited {
  taskid: number;
  outcome: string | null;
  status: number;
  message: string;
}

/** Waits; resolves with each task's ending, in the order given. */
export async function waitTasks(reg: Registry, ids: number[], timeoutSec: number | null, onEnd: (w: Waited) => void): Promise<Waited[]> {
  for (const id of ids) if (!reg.task(id) && !reg.historyOf(id)) throw describeUnknown(reg, id, 'nothing to wait for');
  const done = new Map<number, Waited>();
  const watchers = new Map<number, ExitWatch>();
  return new Promise<Waited[]>((resolve, reject) => {
    let stop = () => {};
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      stop();
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      if (err) reject(err);
      else resolve(ids.map((id) => done.get(id) as Waited));
    };
    const end = (w: Waited) => {
      done.set(w.taskid, w);
      onEnd(w);
    };
    const check = () => {
      try {
        for (const id of ids) {
          if (done.has(id)) continue;
          const t = reg.task(id);
          if (!t) {
            const h = reg.historyOf(id);
            const e = h && historyEntry(h);
            const status = h ? recordedStatus(h) : EXIT.launchFailed;
            end({ taskid: id, outcome: e?.outcome ?? null, status, message: `task ${id} ended: ${e?.outcome ?? 'no record'}${e && e.run > 1 ? ` (run ${e.run})` : ''}, exit status ${status}` });
            continue;
          }
          if (t.state === 'RESERVED') continue; // not launched yet: its launch will change the registry
          if (!launcherAlive(t) || !t.launcher) {
            if (!reg.task(id)) return check(); // it archived and exited between the two looks: ended, not lost
            end({ taskid: id, outcome: null, status: EXIT.launchFailed, message: `task ${id} is LOST (its launcher is gone): nobody will archive it until control --update or --kill settles it` });
            continue;
          }
          if (!watchers.has(id) && isHere(t)) {
            const w = watchExit(t.launcher.pid, t.launcher.start);
            watchers.set(id, w);
            void w.gone.then(check);
          }
        }
        if (done.size === ids.length) finish();
      } catch (err) {
        finish(err);
      }
    };
    stop = reg.watch(check);
    if (timeoutSec !== null) {
      timer = setTimeout(() => {
        const left = ids.filter((id) => !done.has(id));
        finish(new ExitError(`waited ${timeoutSec} s; still running: task${left.length === 1 ? '' : 's'} ${left.join(', ')}`, EXIT.timeout));
      }, timeoutSec * 1000);
    }
    check();
  });
}

/** control --wait ID... [--timeout S] | --wait --name NAME: exits with the first non-zero exit status among them, in the order given, else 0. */
export const command: Command = (a) => {
  const given = (a.wait ?? []).map((v) => parseId(v, '--wait', EXIT.usage));
  if (given.length === 0 && a.name === undefined) throw new ExitError('--wait needs task ids, or --name NAME', EXIT.usage);
  const timeoutSec = a.timeout === undefined ? null : parseSeconds(a.timeout, '--timeout', EXIT.usage);
  return async (reg, out) => {
    const byName = a.name === undefined ? [] : reg.tasksNamed(a.name).map((t) => t.id);
    if (a.name !== undefined && byName.length === 0) throw new ExitError(`no live task is named '${a.name}'; nothing to wait for`, EXIT.refused);
    const ids = [...new Set([...given, ...byName])];
    const ended = await waitTasks(reg, ids, timeoutSec, (w) => {
      if (!a.json) out(w.message);
    });
    if (a.json) out(JSON.stringify(ended.map(({ taskid, outcome, status }) => ({ taskid, outcome, status }))));
    return ended.find((w) => w.status !== 0)?.status ?? EXIT.ok;
  };
};
