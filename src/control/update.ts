import { EXIT } from '../errors';
import type { Registry } from '../db/registry';
import type { Command } from './command';
import { launcherAlive } from '../lost';
import { settleLost } from '../lost';

/**
 * Sweeps lapsed reservations, refreshes durations, and settles tasks whose launcher died: archived
 * once their processes are gone, ended if over their timeout or --max-time, else marked LOST so
 * that `--kill` can still reach them. Tasks are settled concurrently: each may wait out a grace.
 */
export async function update(reg: Registry): Promise<string[]> {
  const out: string[] = [];
  const swept = reg.sweep(); // one DELETE: atomic on its own
  if (swept) out.push(`swept ${swept} expired reservation${swept === 1 ? '' : 's'}`);
  reg.refreshDurations();
  const lost = reg.liveTasks().filter((t) => t.state !== 'RESERVED' && !launcherAlive(t));
  const settled = await Promise.all(lost.map((t) => (t.state === 'RESERVED' ? null : settleLost(reg, t))));
  for (const s of settled) if (s) out.push(s.message);
  return out;
}

/** control --update [--json] */
export const command: Command = (a) => async (reg, out) => {
  const lines = await update(reg);
  out(a.json ? JSON.stringify(lines) : lines.length ? lines.join('\n') : 'Nothing to update.');
  return EXIT.ok;
};
