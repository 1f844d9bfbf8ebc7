import { readdirSync } from 'node:fs';
import { readProc } from './identity';

/** A task's process group: its leader's pid is the pgid, and its start time proves it is ours. */
export interface GroupTarget {
  pgid: number;
  leaderStart: number;
}

export type SignalResult = 'sent' | 'gone' | 'not-ours';

/**
 * Signals the whole group, after confirming it is still ours. The pid number of a leader cannot be
 * reused while its group has members, so: if a process with pid == pgid exists it must have our
 * start time; if none exists, any group left is our leader's orphans. "No such process" is 'gone'.
 */
export function signalGroup(t: GroupTarget, signal: NodeJS.Signals | 0): SignalResult {
  const leader = readProc(t.pgid);
  if (leader && leader.start !== t.leaderStart) return 'not-ours';
  try {
    process.kill(-t.pgid, signal);
    return 'sent';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    throw err;
  }
}

/**
 * True while the group has a member that is not a zombie. kill(-pgid, 0) alone is not enough:
 * orphans are reaped by PID 1, which on some systems (containers, microVMs) takes a second or more,
 * and a group of zombies has nothing left to kill.
 */
export function groupAlive(t: GroupTarget): boolean {
  if (signalGroup(t, 0) !== 'sent') return false;
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const p = readProc(Number(name));
    if (p && p.pgrp === t.pgid && p.state !== 'Z') return true;
  }
  return false;
}

export type TerminateResult = 'terminated' | 'killed' | 'gone' | 'not-ours';

/** Most groups die within a few ms of SIGTERM: look again soon, then back off to every 20 ms. */
const POLL_MS = [1, 2, 4, 8, 16, 20];

/**
 * SIGTERM to the group, then SIGKILL to whatever of it remains after `graceMs`, even when the
 * leader has already exited. Members are not our children, so nothing tells us when they go:
 * only during this bounded window do we poll for an empty group.
 */
export async function terminateGroup(t: GroupTarget, graceMs: number): Promise<TerminateResult> {
  const first = signalGroup(t, 'SIGTERM');
  if (first !== 'sent') return first;
  signalGroup(t, 'SIGCONT'); // a stopped group cannot act on SIGTERM until it runs again
  const deadline = Date.now() + graceMs;
  for (let i = 0; Date.now() < deadline; i++) {
    await sleep(Math.min(POLL_MS[Math.min(i, POLL_MS.length - 1)], Math.max(1, deadline - Date.now())));
    if (!groupAlive(t)) return 'terminated';
  }
  const last = signalGroup(t, 'SIGKILL');
  if (last !== 'sent') return last === 'gone' ? 'terminated' : last;
  for (let i = 0; i < 60 && groupAlive(t); i++) await sleep(POLL_MS[Math.min(i, POLL_MS.length - 1)]);
  return 'killed';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
