import pidusage from 'pidusage';
import { EXIT } from '../errors';
import type { Registry } from '../db/registry';
import type { Command } from './command';
import type { ListEntry } from './entries';
import type { Task } from '../task/model';
import { viewOf } from './live';
import { tables } from './tables';

/** The live tasks as control --list shows them; `sample: false` leaves cpu and memory null (no /proc sampling). */
export function listTasks(reg: Registry, o: { sample: false; now?: number }): ListEntry[];
export function listTasks(reg: Registry, o?: { sample?: true; now?: number }): Promise<ListEntry[]>;
export function listTasks(reg: Registry, o: { sample?: boolean; now?: number } = {}): ListEntry[] | Promise<ListEntry[]> {
  const now = o.now ?? Date.now();
  const entries = entriesOf(reg.liveTasks(now / 1000), now);
  return o.sample === false ? entries : sampleUsage(entries);
}

/** Live rows as of `now` (ms): status and quiet time derived now, from the launcher's and the heartbeat's state. */
export function entriesOf(tasks: Task[], now: number): ListEntry[] {
  const out: ListEntry[] = [];
  for (const t of tasks) {
    if (t.state === 'RESERVED' && t.expiresAt <= now / 1000) continue; // lapsed, not swept yet
    const v = viewOf(t, now);
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

async function sampleUsage(entries: ListEntry[]): Promise<ListEntry[]> {
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

/** control --list [--json] */
export const command: Command = (a) => async (reg, out) => {
  (require('./pools') as typeof import('./pools')).healPools(reg, a.launchBin); // a list that shows pools keeps them supervised
  const entries = (await listTasks(reg)).filter((e) => a.host === undefined || e.host === a.host);
  if (a.json) out(JSON.stringify(entries));
  else out(tables().renderList(entries, tables().layoutFor(a.wide === true)));
  return EXIT.ok;
};
