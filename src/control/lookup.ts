import { ExitError, EXIT } from '../errors';
import type { Registry } from '../db/registry';

/** The sentence for an id with no live row: ended already, or never issued. */
export function describeUnknown(reg: Registry, id: number, consequence: string): ExitError {
  const h = reg.historyOf(id);
  if (h) return new ExitError(`task ${id} has already ended (outcome ${h.outcome ?? 'unknown'}); ${consequence}`, EXIT.refused);
  return new ExitError(`there is no task ${id} in ${reg.file}; ${consequence}`, EXIT.refused);
}
