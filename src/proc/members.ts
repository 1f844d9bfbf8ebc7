import { allPids, carriesMark, readProc, type TaskMark } from './identity';
import { cgroupPids, isPopulated, killCgroup } from './cgroup';

// Which processes are a task's, proven before any is signalled. With a cgroup, its members are
// (a process cannot leave it). Without one, the task's process group is: but a group number is
// its leader's pid, and once the group has emptied a stranger may get that pid and lead a group of
// its own. So, unless the launcher still holds the leader unreaped (the kernel keeps the number
// for it), the group counts as the task's only while one of its members carries the task's mark.

export interface TaskTarget {
  mark: TaskMark;
  /** The task's cgroup, when it is contained in one. */
  cgroup: string | null;
  /** The task's own process group; null in --foreground (it shares launch's) or when its pid was never recorded. */
  pgid: number | null;
  /** The launcher's own, unreaped child leads the group: the group is the task's without further proof. */
  leaderHeld?: boolean;
  /** The task's start (in /proc start ticks): a process that started before it cannot be one of its own. */
  notBefore?: number;
}

export interface Members {
  /** Processes proven to be the task's. */
  pids: number[];
  /** Signal the whole group with kill(-pgid): it is proven to be the task's. */
  wholeGroup: boolean;
  /** Processes in the task's group that could not be proven to be its own (no mark): never signalled. */
  unproven: number;
}

/** The task's live processes (zombies are not alive: they hold nothing and cannot be killed). */
export function members(t: TaskTarget): Members {
  return survey(t, false);
}

/**
 * members, and with `countEscaped` in the same pass over /proc, the processes that carry the task's
 * mark but left its process group (setsid, a double fork), which only a cgroup prevents: counted
 * for history, never signalled.
 */
export function survey(t: TaskTarget, countEscaped = true): Members & { escaped: number } {
  if (t.cgroup) return { pids: cgroupPids(t.cgroup), wholeGroup: false, unproven: 0, escaped: 0 };
  if (t.pgid === null) return { pids: allPids().filter((p) => isLive(p, t.notBefore) && carriesMark(p, t.mark)), wholeGroup: false, unproven: 0, escaped: 0 };
  const inGroup: number[] = [];
  let escaped = 0;
  for (const p of allPids()) {
    const info = readProc(p);
    if (info === null || info.state === 'Z') continue;
    if (info.pgrp === t.pgid) inGroup.push(p);
    else if (countEscaped && info.start >= (t.notBefore ?? 0) && carriesMark(p, t.mark)) escaped++;
  }
  if (t.leaderHeld || inGroup.some((p) => carriesMark(p, t.mark))) return { pids: inGroup, wholeGroup: true, unproven: 0, escaped };
  return { pids: [], wholeGroup: false, unproven: inGroup.length, escaped };
}

const isLive = (pid: number, notBefore = 0) => {
  const p = readProc(pid);
  return p !== null && p.state !== 'Z' && p.start >= notBefore;
};

export function alive(t: TaskTarget): boolean {
  return t.cgroup ? isPopulated(t.cgroup) : members(t).pids.length > 0;
}

/** Sends `sig` to the task's proven processes; returns how many were reached (0: none proven alive). */
export function signalTask(t: TaskTarget, sig: NodeJS.Signals): number {
  const m = members(t);
  if (m.pids.length === 0) return 0;
  if (t.cgroup && sig === 'SIGKILL') {
    killCgroup(t.cgroup);
    return m.pids.length;
  }
  if (m.wholeGroup && t.pgid !== null) {
    if (trySignal(-t.pgid, sig)) return m.pids.length;
    return 0;
  }
  let n = 0;
  for (const pid of m.pids) if (trySignal(pid, sig)) n++;
  return n;
}

/** kill(2) where "no such process" is not an error (it ended meanwhile); a refusal (EPERM) is. */
function trySignal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}
