import { describeDbError, RegistryError } from './errors';
import { resolveDbPath } from './location';
import { openRegistry, type Registry } from './registry';

/**
 * Opens the registry a command was pointed at; any failure becomes a RegistryError with a sentence.
 * Only commands that write may create it: a reader pointed at a typo says there is none.
 */
export function openFor(dbFlag: string | undefined, o: { create: boolean; busyMs?: number }): Registry {
  // A URL (postgres://...) is not a file name: taken as one, it would make a directory named 'postgres:'.
  const given = dbFlag || process.env.TASKWATCH_DB || '';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
    throw new RegistryError(`the registry '${given}' is a URL; this taskwatch keeps its registry in an SQLite file, so give --db (or TASKWATCH_DB) a file path`, 'TASKWATCH_URL');
  }
  const { file, isDefault } = resolveDbPath(dbFlag);
  try {
    return openRegistry(file, { create: o.create, mkdirs: isDefault, busyMs: o.busyMs });
  } catch (err) {
    throw describeDbError(err, file);
  }
}
