import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

// A pid alone is not an identity: pids are reused. A process is (pid, start time), the start time
// being field 22 of /proc/PID/stat in clock ticks since boot, which never changes for a process.
// Ticks are 10 ms, so a pid reused within the same tick would pass that test: whoever signals a
// process it did not start itself also asks for the task's mark in its environment.

export interface ProcInfo {
  /** The command name the kernel keeps (at most 15 bytes; the executable's base name). */
  comm: string;
  /** Single-letter state: R, S, D, Z (zombie), T (stopped)... */
  state: string;
  ppid: number;
  pgrp: number;
  /** The controlling terminal's device number; 0 for none. */
  tty: number;
  start: number;
  /** CPU time in user and kernel mode, in clock ticks (USER_HZ). */
  utime: number;
  stime: number;
  /** Resident set, in pages. */
  rss: number;
}

// /proc files report size 0, so readFileSync reads them in 64 KiB chunks; a stat line is < 1 KiB.
const statBuf = Buffer.alloc(1024);

function readSmall(path: string, buf: Buffer): number | null {
  try {
    const fd = openSync(path, 'r');
    try {
      return readSync(fd, buf, 0, buf.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

export function readProc(pid: number): ProcInfo | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const n = readSmall(`/proc/${pid}/stat`, statBuf);
  if (n === null) return null;
  const text = statBuf.toString('latin1', 0, n);
  // The command name may hold spaces and parentheses; fields resume after the last ')'.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  return { comm: text.slice(text.indexOf('(') + 1, close), state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), tty: Number(f[4]), start: Number(f[19]), utime: Number(f[11]), stime: Number(f[12]), rss: Number(f[21]) };
}

export function procStartTime(pid: number): number | null {
  return readProc(pid)?.start ?? null;
}

/** True when `pid` is still the very process that had `start`, and is not a zombie. */
export function isSameProcess(pid: number | null, start: number | null): boolean {
  if (pid == null || start == null) return false;
  const p = readProc(pid);
  return p !== null && p.start === start && p.state !== 'Z';
}

/**
 * What launch puts into a task's environment to name it: every process the task starts inherits
 * it, and no other process has it, since the key is random per registry and ids are never reused.
 */
export interface TaskMark {
  id: number;
  registryKey: string;
}

export const markEnv = (m: TaskMark): Record<string, string> => ({ TASKWATCH_TASKID: String(m.id), TASKWATCH_REGISTRY: m.registryKey });

const chunk = Buffer.alloc(64 * 1024);

/** A /proc file whole (they report size 0), up to `max` bytes, as latin1; null when it cannot be read. */
function readProcFile(path: string, max = 4 * 1024 * 1024): string | null {
  try {
    const fd = openSync(path, 'r');
    try {
      let text = '';
      for (let n; text.length < max && (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) text += chunk.toString('latin1', 0, n);
      return text;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/** True when the process's environment (as it was exec'd) carries the mark; false when it does not or cannot be read. */
export function carriesMark(pid: number, m: TaskMark): boolean {
  const entries = readProcFile(`/proc/${pid}/environ`)?.split('\0');
  return entries !== undefined && entries.includes(`TASKWATCH_TASKID=${m.id}`) && entries.includes(`TASKWATCH_REGISTRY=${m.registryKey}`);
}

/** Every live process's pid, from /proc. */
export function allPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

/** The live processes whose command name is `comm`, with their parents. */
export function processesNamed(comm: string): Array<{ pid: number; ppid: number }> {
  const out: Array<{ pid: number; ppid: number }> = [];
  for (const pid of allPids()) {
    const p = readProc(pid);
    if (p?.comm === comm) out.push({ pid, ppid: p.ppid });
  }
  return out;
}

/** True while `pid` is a launch process with that start time: control signals nothing else as a launcher. */
export function isLauncher(pid: number, start: number): boolean {
  return isSameProcess(pid, start) && /(^|[/\0])launch(\.js)?\0/.test(readProcFile(`/proc/${pid}/cmdline`) ?? '');
}
