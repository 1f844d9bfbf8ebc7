import { describeDbError, RegistryError } from './errors';
import { resolveDbPath } from './location';
import type { Registry } from './registry';
import { openRegistry } from './sqlite';

/** postgres://... or postgresql://...: the registry in PostgreSQL. */
export const isPostgresUrl = (s: string): boolean => /^postgres(ql)?:\/\//i.test(s);

/**
 * Opens the registry a command was pointed at; any failure becomes a RegistryError with a sentence.
 * Only commands that write may create it: a reader pointed at a typo says there is none.
 * A PostgreSQL URL loads the PostgreSQL registry, and only then (a launcher on SQLite never loads it).
 */
export function openFor(dbFlag: string | undefined, o: { create: boolean; busyMs?: number }): Registry {
  const given = dbFlag || process.env.TASKWATCH_DB || '';
  if (isPostgresUrl(given)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { openPostgres } = require('./postgres') as typeof import('./postgres');
    return openPostgres(given, o);
  }
  // Any other URL is not a file name: taken as one, it would make a directory named 'mysql:'.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
    throw new RegistryError(`the registry '${given}' is a URL taskwatch does not know; give --db (or TASKWATCH_DB) a file path or a postgres:// URL`, 'TASKWATCH_URL');
  }
  const { file, isDefault } = resolveDbPath(dbFlag);
  try {
    return openRegistry(file, { create: o.create, mkdirs: isDefault, busyMs: o.busyMs });
  } catch (err) {
    throw describeDbError(err, file);
  }
}
