import { describeDbError } from './errors';
import { resolveDbPath } from './location';
import { openRegistry, type Registry } from './registry';

/** Opens the registry a command was pointed at; any failure becomes a RegistryError with a sentence. */
export function openFor(dbFlag: string | undefined, busyMs?: number): Registry {
  const { file, isDefault } = resolveDbPath(dbFlag);
  try {
    return openRegistry(file, { mkdirs: isDefault, busyMs });
  } catch (err) {
    throw describeDbError(err, file);
  }
}
