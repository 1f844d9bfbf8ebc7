import { readFileSync } from 'node:fs';
import { readProc } from './identity';

// CPU and memory of processes straight from /proc/PID/stat: one read per process into a shared buffer,
// no helper process. For control --list, and for the server, which samples its tasks every few
// seconds while someone watches.

/** The kernel reports /proc times in USER_HZ ticks, 100 a second on every Linux ABI. */
const USER_HZ = 100;

let pageBytes: number | null = null;
/** The page size, from this process's own resident set as two files count it (pages, and kB). */
function pageSize(): number {
  if (pageBytes !== null) return pageBytes;
  try {
    const pages = Number(readFileSync('/proc/self/statm', 'latin1').split(' ')[1]);
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'))?.[1]);
    const size = Math.round((kb * 1024) / pages / 4096) * 4096;
    pageBytes = size > 0 ? size : 4096;
  } catch {
    pageBytes = 4096;
  }
  return pageBytes;
}

export interface Usage {
  /** Average CPU % since the process started, as ps shows it. */
  cpu: number;
  /** Resident set, bytes. */
  memory: number;
}

/** Each process's usage; a process gone (or unreadable) is left out. */
export function usageOf(pids: number[]): Map<number, Usage> {
  const out = new Map<number, Usage>();
  let uptime: number;
  try {
    uptime = Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
  } catch {
    return out;
  }
  const page = pageSize();
  for (const pid of pids) {
    const p = readProc(pid);
    if (!p) continue;
    const elapsed = uptime - p.start / USER_HZ;
    out.set(pid, { cpu: elapsed > 0 ? ((p.utime + p.stime) / USER_HZ / elapsed) * 100 : 0, memory: p.rss * page });
  }
  return out;
}
