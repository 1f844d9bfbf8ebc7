import type { Registry } from './db/registry';
import type { LaunchedTask } from './task/model';
import { escapedNote, unprovenNote } from './task/notes';
import { endingOf, type Ending } from './task/outcome';
import { endTask } from './archive';
import { ctimeMsOf, heartbeatOf } from './feedback/file';
import { isCgroupDir, removeCgroup } from './proc/cgroup';
import { isLauncher } from './proc/identity';
import { isThisHost } from './proc/host';
import { members, survey, type TaskTarget } from './proc/members';
import { terminate } from './proc/terminate';

// A task whose launcher is gone (SIGKILLed, OOM-killed) has nobody to enforce its limits, end it,
// or record its ending. Whichever control call meets it does (or a pool's new supervisor, for the
// instances of the one before it): it proves which processes are still the task's, ends them if
// they are over their timeout or --max-time (or asked to), and archives the task once they are gone.

/**
 * True while the launcher recorded for the task is still that launch process: on PostgreSQL, while it
 * holds its lock on the task (PostgreSQL frees it when the launcher's connection dies, on any host).
 */
export const launcherAlive = (t: LaunchedTask): boolean => t.launcher !== null && (t.launcherLock ?? isLauncher(t.launcher.pid, t.launcher.start));

/** True when the task runs on this host: only then may its processes be touched (see isThisHost). */
export const isHere = (t: LaunchedTask): boolean => isThisHost(t.host);

/** What is said of a LOST task of another host: nothing here may touch its processes. */
export const elsewhereNote = (t: LaunchedTask): string =>
  `task ${t.id} runs on host ${t.host} and its launcher is gone (LOST): only launch or control on ${t.host} may end its processes; control --forget ${t.id} archives it as lost without touching them`;

/**
 * How long the task has been quiet, in ms: since the last change of its feedback file (its ctime,
 * which only the kernel sets, so a file touched into the future does not look fresh), the last
 * heartbeat its launcher recorded, or its start. Wall-clock based: only the launcher, which watches
 * continuously, can measure on the monotonic clock.
 *
 * The file of a task on another host is not read: its path names something unrelated here. There,
 * only the launcher's word is known. It records a heartbeat when the status changes, not at every
 * beat, so its last one dates the quiet while it says SILENT or STALLED (or LOST: the last known);
 * while it says RUNNING the quiet is unknown (null), short of a quarter of the timeout.
 */
export function quietMs(t: LaunchedTask, nowMs = Date.now(), here = isHere(t)): number | null {
  if (!t.watch) return null;
  if (!here && t.state === 'RUNNING') return null;
  const beat = here ? heartbeatOf(t.watch.feedFile) : null;
  const file = beat ? ctimeMsOf(beat) : 0;
  return nowMs - Math.max(file, (t.heartbeatAt ?? 0) * 1000, t.startedAt * 1000);
}

/** The task's processes as control may reach them: a cgroup only if the path really is one. */
export function targetOf(t: LaunchedTask, registryKey: string): TaskTarget {
  return {
    mark: { id: t.id, registryKey },
    cgroup: t.cgroup && isCgroupDir(t.cgroup) ? t.cgroup : null,
    pgid: t.pgid,
    notBefore: t.leader?.start,
  };
}

export interface Settled {
  archived: boolean;
  message: string;
}

/** What is over its limits, in words, or null. */
function overdue(t: LaunchedTask, nowMs = Date.now()): { note: string } | null {
  const quiet = quietMs(t, nowMs);
  if (t.watch && quiet !== null && quiet >= t.watch.timeoutSec * 1000) return { note: `no heartbeat for ${t.watch.timeoutSec} s (--timeout)` };
  if (t.maxTimeSec !== null && nowMs - t.startedAt * 1000 >= t.maxTimeSec * 1000) return { note: `ran longer than --max-time ${t.maxTimeSec} s` };
  return null;
}

/**
 * Settles a task whose launcher is gone. With `kill`, its processes are ended in any case;
 * without, only when over their limits; else it is marked LOST and left to run.
 */
export async function settleLost(reg: Registry, t: LaunchedTask, kill?: { note: string; graceSec: number }): Promise<Settled> {
  if (!isHere(t)) return { archived: false, message: elsewhereNote(t) };
  const launcher = `its launcher (pid ${t.launcher?.pid ?? '?'}) was gone`;
  const target = targetOf(t, reg.key);
  const found = members(target);
  const end = async (ending: Ending, notes: string[] = []) => {
    await endTask(reg, t, ending, { notes });
    if (target.cgroup) removeCgroup(target.cgroup);
  };
  if (found.pids.length === 0 && t.state === 'BACKOFF') {
    // Gone between runs: no run to record; the last one's record says it was not restarted.
    reg.endBetweenRuns(t, `not restarted: ${launcher} while it waited to restart`);
    return { archived: true, message: `task ${t.id}: ${launcher} while it waited to restart; its last run is in history` };
  }
  if (found.pids.length === 0) {
    const why = found.unproven > 0 && t.pgid !== null
      ? `${launcher}; ${unprovenNote(found.unproven, t.pgid)}`
      : t.leader === null && !target.cgroup
        ? `${launcher} before it recorded a pid, and no process carrying the task's mark is left`
        : `${launcher} and so were its processes; exit status unknown`;
    await end(endingOf(null, { kind: 'lost', note: why }));
    return { archived: true, message: `task ${t.id}: ${why}; archived as lost` };
  }
  const limit = kill ? null : overdue(t);
  if (!kill && !limit) {
    if (t.state !== 'LOST') reg.setStatus(t.id, 'LOST', t.heartbeatAt);
    return { archived: false, message: `task ${t.id}: ${launcher} but ${found.pids.length} of its processes still run; left LOST (use --kill ${t.id})` };
  }
  const grace = kill?.graceSec ?? t.graceSec;
  const result = await terminate(target, grace * 1000);
  const signal = result === 'killed' ? 'SIGKILL' : 'SIGTERM';
  const sent = result === 'killed' ? 'SIGTERM then SIGKILL' : 'SIGTERM';
  const left = survey(target).escaped;
  const notes = left > 0 ? [escapedNote(left)] : [];
  if (kill) {
    await end(endingOf({ code: null, signal }, { kind: 'killed', note: `${kill.note}; ${launcher}` }), notes);
    return { archived: true, message: `task ${t.id}: ${launcher}; control sent ${sent} to its processes and archived it as killed` };
  }
  await end(endingOf({ code: null, signal }, { kind: 'timeout', note: `${limit?.note}, enforced by control because ${launcher}` }), notes);
  return { archived: true, message: `task ${t.id}: ${launcher} and it was over its limit (${limit?.note}); control sent ${sent} and archived it as timeout` };
}
