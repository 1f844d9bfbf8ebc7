import { closeSync, openSync, readSync } from 'node:fs';

// A pid alone is not an identity: pids are reused. A process is (pid, start time), the start time
// being field 22 of /proc/PID/stat in clock ticks since boot, which never changes for a process.

export interface ProcInfo {
  /** Single-letter state: R, S, D, Z (zombie), T (stopped)... */
  state: string;
  pgrp: number;
  start: number;
}

// /proc files report size 0, so readFileSync reads them in 64 KiB chunks; a stat line is < 1 KiB.
const statBuf = Buffer.alloc(1024);

export function readProc(pid: number): ProcInfo | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    const fd = openSync(`/proc/${pid}/stat`, 'r');
    try {
      text = statBuf.toString('latin1', 0, readSync(fd, statBuf, 0, statBuf.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses; fields resume after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], pgrp: Number(f[2]), start: Number(f[19]) };
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
