import { EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { Command } from './command';
import { feedbackOf } from './lookup';

/** control --feedback ID [--follow] */
export const command: Command = (a) => {
  const id = parseId(a.feedback, '--feedback', EXIT.usage);
  return async (reg, out) => {
    if (a.follow) {
      await (require('./follow') as typeof import('./follow')).followFeedback(reg, id, out);
      return EXIT.ok;
    }
    out(JSON.stringify(feedbackOf(reg, id)));
    return EXIT.ok;
  };
};
