import pidusage from 'pidusage';
import type { Registry } from '../db/registry';
import type { TaskStatus } from '../feedback/status';
import { viewOf } from './live';

/** One live task, with exactly the keys `control --list --json` prints. */
export interface ListEntry {
  taskid: number;
  name: string | null;
  info1: string | null;
  info2: string | null;
  info3: string | null;
  pid: number | null;
  status: TaskStatus;
  starttime: number | null;
  duration: number | null;
  feedback: boolean;
  timer: number | null;
  timeout: number | null;
  cpu: number | null;
  memory: number | null;
}

export async function listTasks(reg: Registry): Promise<ListEntry[]> {
  const now = Date.now();
  const entries = reg.liveTasks(now / 1000).map((t): ListEntry => {
    const v = viewOf(t, now);
    return {
      taskid: t.id,
      name: t.name,
      info1: t.info1,
      info2: t.info2,
      info3: t.info3,
      pid: t.pid,
      status: v.status,
      starttime: t.starttime,
      duration: t.starttime == null ? null : now / 1000 - t.starttime,
      feedback: t.feedback === 1,
      timer: v.timer,
      timeout: t.timeout,
      cpu: null,
      memory: null,
    };
  });
  // One call for every pid: pidusage spawns getconf for each call made before its cache fills.
  // Its first sample of a pid has no earlier one to compare with, so CPU is the average since the
  // process started (ctime / elapsed), as ps reports it.
  const sampled = entries.filter((e) => e.pid != null && e.status !== 'RESERVED' && e.status !== 'LOST');
  if (sampled.length > 0) {
    try {
      const usage = (await pidusage(sampled.map((e) => e.pid as number))) as Record<string, pidusage.Status | undefined>;
      for (const e of sampled) {
        const u = usage[String(e.pid)];
        if (!u) continue; // exited between the query and the sample: unknown
        e.cpu = u.elapsed > 0 ? (u.ctime / u.elapsed) * 100 : 0;
        e.memory = u.memory;
      }
    } catch {
      /* sampling is a courtesy: the list stands without it */
    }
  }
  pidusage.clear();
  return entries;
}
