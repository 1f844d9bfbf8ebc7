import { EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { Command } from './command';
import { feedbackOf } from './lookup';
import { recordedStatus } from '../task/outcome';

/** control --feedback ID [--follow] */
export const command: Command = (a) => {
  const id = parseId(a.feedback, '--feedback', EXIT.usage);
  return async (reg, out) => {
    if (a.follow) {
      await (require('./follow') as typeof import('./follow')).followFeedback(reg, id, out);
      const h = reg.historyOf(id); // ended: the exit status is the task's own, as with --wait
      return h ? recordedStatus(h) : EXIT.ok;
    }
    out(JSON.stringify(feedbackOf(reg, id)));
    return EXIT.ok;
  };
};
