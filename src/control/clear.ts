import { createInterface } from 'node:readline';
import { ExitError, EXIT } from '../errors';
import type { Command } from './command';

/** Asks on the terminal; true for y or yes. */
function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      resolve(/^\s*y(es)?\s*$/i.test(answer)); // before close, whose own resolve (for end of input) would come first
      rl.close();
    });
    rl.on('close', () => resolve(false));
  });
}

/** control --clear [--yes]: deletes every history row and says how many; asks first when a person is at the terminal. */
export const command: Command = (a) => async (reg, out) => {
  const n = reg.historyCount();
  if (n > 0 && process.stdin.isTTY && !a.yes && !(await confirm(`Delete all ${n} history row${n === 1 ? '' : 's'} of ${reg.file}? [y/N] `))) {
    throw new ExitError('history not cleared', EXIT.refused);
  }
  const cleared = reg.clearHistory();
  out(a.json ? JSON.stringify({ cleared }) : `Cleared ${cleared} history row${cleared === 1 ? '' : 's'}.`);
  return EXIT.ok;
};
