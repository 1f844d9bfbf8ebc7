import { EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { CommandRun } from './command';
import { feedbackOf } from './lookup';

/** control --feedback ID [--follow] */
export const run: CommandRun = async (a, reg, out) => {
  const id = parseId(a.feedback, '--feedback', EXIT.usage);
  if (a.follow) {
    await (require('./follow') as typeof import('./follow')).followFeedback(reg, id, out);
    return EXIT.ok;
  }
  out(JSON.stringify(feedbackOf(reg, id)));
  return EXIT.ok;
};
