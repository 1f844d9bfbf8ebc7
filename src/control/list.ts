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
  await Promise.all(
    entries
      .filter((e) => e.pid != null && e.status !== 'RESERVED' && e.status !== 'LOST')
      .map(async (e) => {
        try {
          const u = await pidusage(e.pid as number);
          e.cpu = u.cpu;
          e.memory = u.memory;
        } catch {
          /* exited between the query and the sample: leave it unknown */
        }
      }),
  );
  pidusage.clear();
  return entries;
}
