import { EXIT } from '../errors';
import type { CommandRun } from './command';

/** control --clear: deletes every history row and says how many. */
export const run: CommandRun = (a, reg, out) => {
  const n = reg.clearHistory();
  out(a.json ? JSON.stringify({ cleared: n }) : `Cleared ${n} history row${n === 1 ? '' : 's'}.`);
  return EXIT.ok;
};
