import { ExitError, EXIT } from '../errors';
import type { Registry } from '../db/registry';
import { readFeedbackFile } from '../feedback/file';
import { feedbackObject } from './entries';
import { isThisHost } from '../proc/host';

/** The sentence for an id with no live row: ended already, or never issued. */
export function describeUnknown(reg: Registry, id: number, consequence: string): ExitError {
  const h = reg.historyOf(id);
  if (h) return new ExitError(`task ${id} has already ended (outcome ${h.outcome ?? 'unknown'}); ${consequence}`, EXIT.refused);
  return new ExitError(`there is no task ${id} in ${reg.file}; ${consequence}`, EXIT.refused);
}

/** A live task's feedback comes from its file; an ended task's from history. */
export function feedbackOf(reg: Registry, id: number): Record<string, unknown> {
  const t = reg.task(id);
  if (t) {
    if (t.state === 'RESERVED') throw new ExitError(`task ${id} is reserved and has not started; it has no feedback yet`, EXIT.refused);
    if (!t.watch) throw new ExitError(`task ${id} was launched without --feedpath, so it has no feedback file`, EXIT.refused);
    // A live task's file is on its own host; history has the final feedback for any host to read.
    if (!isThisHost(t.host)) throw new ExitError(`task ${id} runs on host ${t.host}; its feedback file ${t.watch.feedFile} is there until it ends (then history has it): run control --feedback on ${t.host}`, EXIT.refused);
    try {
      const r = readFeedbackFile(t.watch.feedFile);
      // Gone: deleted by the task, or archived and removed since the row was read; then history has it.
      if (!r.found && !reg.task(id)) return feedbackOf(reg, id);
      return r.values;
    } catch (err) {
      throw new ExitError(`cannot read task ${id}'s feedback file ${t.watch.feedFile}: ${(err as Error).message}`, EXIT.refused);
    }
  }
  const h = reg.historyOf(id);
  if (h) return feedbackObject(h.feedback);
  throw describeUnknown(reg, id, 'no feedback to show');
}
