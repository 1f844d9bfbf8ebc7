import type { Registry } from '../db/registry';
import { isSameProcess } from '../proc/identity';
import { groupAlive } from '../proc/terminate';
import { endTask } from '../ending';

/**
 * Sweeps lapsed reservations, refreshes durations, and settles tasks whose launcher died:
 * archived as lost once their process group is gone, marked LOST while it lives so that
 * `--kill` can still reach it.
 */
export async function update(reg: Registry): Promise<string[]> {
  const out: string[] = [];
  const swept = reg.sweep(); // one DELETE: atomic on its own
  if (swept) out.push(`swept ${swept} expired reservation${swept === 1 ? '' : 's'}`);
  reg.refreshDurations();
  for (const t of reg.liveTasks()) {
    if (t.status === 'RESERVED' || isSameProcess(t.launcher_pid, t.launcher_start)) continue;
    const childAlive = t.pid != null && t.pid_start != null && groupAlive({ pgid: t.pid, leaderStart: t.pid_start });
    if (childAlive) {
      reg.setStatus(t.id, 'LOST', t.heartbeat);
      out.push(`task ${t.id}: launcher (pid ${t.launcher_pid}) is gone but its process group ${t.pid} still runs; left LOST (use --kill ${t.id})`);
      continue;
    }
    await endTask(reg, t.id, t.feedpath, {
      outcome: 'lost',
      exitcode: null,
      termsignal: null,
      termerror: `launcher (pid ${t.launcher_pid ?? '?'}) vanished and its processes are gone; exit status unknown`,
    });
    out.push(`task ${t.id}: launcher gone and its processes ended; archived as lost`);
  }
  return out;
}
