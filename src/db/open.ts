import { describeDbError } from './errors';
import { resolveDbPath } from './location';
import { openRegistry, type Registry } from './registry';

/**
 * Opens the registry a command was pointed at; any failure becomes a RegistryError with a sentence.
 * Only commands that write may create it: a reader pointed at a typo says there is none.
 */
export function openFor(dbFlag: string | undefined, o: { create: boolean; busyMs?: number }): Registry {
  const { file, isDefault } = resolveDbPath(dbFlag);
  try {
    return openRegistry(file, { create: o.create, mkdirs: isDefault, busyMs: o.busyMs });
  } catch (err) {
    throw describeDbError(err, file);
  }
}
