import { EXIT } from '../errors';
import type { Registry } from '../db/registry';
import { endingOf } from '../task/outcome';
import { endTask } from '../archive';
import { isSameProcess } from '../proc/identity';
import { groupAlive } from '../proc/terminate';
import type { CommandRun } from './command';

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
    if (t.state === 'RESERVED' || (t.launcher && isSameProcess(t.launcher.pid, t.launcher.start))) continue;
    const launcher = `launcher (pid ${t.launcher?.pid ?? '?'})`;
    if (t.leader && groupAlive({ pgid: t.leader.pid, leaderStart: t.leader.start })) {
      reg.setStatus(t.id, 'LOST', t.heartbeatAt);
      out.push(`task ${t.id}: ${launcher} is gone but its process group ${t.leader.pid} still runs; left LOST (use --kill ${t.id})`);
      continue;
    }
    await endTask(reg, t.id, t.watch?.feedFile ?? null, endingOf(null, { kind: 'lost', note: `${launcher} vanished and its processes are gone; exit status unknown` }));
    out.push(`task ${t.id}: launcher gone and its processes ended; archived as lost`);
  }
  return out;
}

/** control --update [--json] */
export const run: CommandRun = async (a, reg, out) => {
  const lines = await update(reg);
  out(a.json ? JSON.stringify(lines) : lines.length ? lines.join('\n') : 'Nothing to update.');
  return EXIT.ok;
};
