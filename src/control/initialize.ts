import { ExitError, EXIT } from '../errors';
import type { Command } from './command';

/** control --initialize [--force]: recreates the tables; ids continue, so none ever names two tasks. */
export const command: Command = (a) => (reg, out) => {
  const live = reg.liveCount();
  const tasks = `${live} live task${live === 1 ? '' : 's'}`;
  if (live > 0 && !a.force) throw new ExitError(`${reg.file} has ${tasks}; refusing to initialize (add --force to drop them)`, EXIT.refused);
  reg.recreate();
  out(`Initialized ${reg.file}${live ? ` (dropped ${tasks})` : ''}; task ids continue where they were.`);
  return EXIT.ok;
};
