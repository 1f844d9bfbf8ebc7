import { EXIT } from '../errors';
import type { Command } from './command';

/** control --clear: deletes every history row and says how many. */
export const command: Command = (a) => (reg, out) => {
  const n = reg.clearHistory();
  out(a.json ? JSON.stringify({ cleared: n }) : `Cleared ${n} history row${n === 1 ? '' : 's'}.`);
  return EXIT.ok;
};
