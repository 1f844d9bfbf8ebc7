import { EXIT } from '../errors';
import type { Registry } from '../db/registry';
import type { Command } from './command';
import type { ListEntry } from './entries';
import type { Task } from '../task/model';
import { viewOf } from './live';
import { usageOf } from '../proc/usage';
import { hostName, isThisHost } from '../proc/host';
import { tables } from './tables';

/** The live tasks as control --list shows them, with each running task's CPU and memory. */
export function listTasks(reg: Registry): ListEntry[] {
  const now = Date.now();
  return sampleUsage(entriesOf(reg.liveTasks(now / 1000), now));
}

/** Live rows as of `now` (ms): status and quiet time derived now, from the launcher's and the heartbeat's state. */
export function entriesOf(tasks: Task[], now: number): ListEntry[] {
  const out: ListEntry[] = [];
  const here = hostName();
  for (const t of tasks) {
    if (t.state === 'RESERVED' && t.expiresAt <= now / 1000) continue; // lapsed, not swept yet
    const v = viewOf(t, now, here);
    const launched = t.state !== 'RESERVED' ? t : null;
    out.push({
      taskid: t.id,
      name: t.name,
      info1: t.info1,
      info2: t.info2,
      info3: t.info3,
      pid: launched?.leader?.pid ?? null,
      status: v.status,
      starttime: launched?.startedAt ?? null,
      duration: launched ? now / 1000 - launched.startedAt : null,
      feedback: launched?.watch != null,
      timer: v.timer,
      timeout: launched?.watch?.timeoutSec ?? null,
      cpu: null,
      memory: null,
      containment: launched?.leader ? (launched.cgroup ? 'cgroup' : 'pgroup') : null,
      restarts: launched?.restarts ?? 0,
      last_outcome: launched?.lastOutcome ?? null,
      pool: launched?.pool?.name ?? null,
      instance: launched?.pool?.instance ?? null,
      host: launched?.host ?? null,
    });
  }
  return out;
}

/** CPU (average since the process started, as ps shows it) and memory of each running task's leader. */
function sampleUsage(entries: ListEntry[]): ListEntry[] {
  // Only this host's processes can be read; another host's pid names some unrelated process here.
  const here = hostName();
  const sampled = entries.filter((e) => e.pid != null && e.status !== 'RESERVED' && e.status !== 'LOST' && isThisHost(e.host, here));
  const usage = usageOf(sampled.map((e) => e.pid as number));
  for (const e of sampled) {
    const u = usage.get(e.pid as number);
    if (!u) continue; // exited between the query and the sample: unknown
    e.cpu = u.cpu;
    e.memory = u.memory;
  }
  return entries;
}

/** control --list [--json] */
export const command: Command = (a) => async (reg, out) => {
  (require('./pools') as typeof import('./pools')).healPools(reg, a.launchBin); // a list that shows pools keeps them supervised
  const entries = listTasks(reg).filter((e) => a.host === undefined || e.host === a.host);
  if (a.json) out(JSON.stringify(entries));
  else out(tables().renderList(entries, tables().layoutFor(a.wide === true)));
  return EXIT.ok;
};
