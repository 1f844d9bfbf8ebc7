import { ExitError, EXIT } from '../errors';
import type { Registry } from '../db/registry';
import { readFeedbackFile } from '../feedback/file';
import { feedbackObject } from './history';
import { describeUnknown } from './lookup';

/** A live task's feedback comes from its file; an ended task's from history. */
export function feedbackOf(reg: Registry, id: number): Record<string, unknown> {
  const t = reg.task(id);
  if (t) {
    if (t.status === 'RESERVED') throw new ExitError(`task ${id} is reserved and has not started; it has no feedback yet`, EXIT.refused);
    if (!t.feedpath) throw new ExitError(`task ${id} was launched without --feedpath, so it has no feedback file`, EXIT.refused);
    try {
      return readFeedbackFile(t.feedpath).values;
    } catch (err) {
      throw new ExitError(`cannot read task ${id}'s feedback file ${t.feedpath}: ${(err as Error).message}`, EXIT.refused);
    }
  }
  const h = reg.historyOf(id);
  if (h) return feedbackObject(h.feedback);
  throw describeUnknown(reg, id, 'no feedback to show');
}
