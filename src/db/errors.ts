import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A registry that cannot be used, in a sentence. It carries no exit code: each command decides
 * what a registry failure means for it (control exits 3, launch 125).
 */
export class RegistryError extends Error {
  constructor(
    message: string,
    /** The SQLite or errno code underneath, for the callers that retry transient failures. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/**
 * Errors worth another try: another writer, a full disk (any SQLITE_IOERR_* is often ENOSPC
 * underneath), a PostgreSQL server that cannot be reached (restarting, say).
 */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return code === 'PG_BUSY' || code === 'PG_UNREACHABLE' || code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR');
}

/** A writer holds the lock: the error a short busy timeout turns into. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return code === 'PG_BUSY' || code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/** The PostgreSQL server cannot be reached: worth waiting for as long as for another writer. */
export const isUnreachable = (err: unknown): boolean => (err as { code?: string })?.code === 'PG_UNREACHABLE';

/** True for the errors SQLite raises (not for bugs, nor for other system calls' errno). */
export function isDbError(err: unknown): boolean {
  return err instanceof RegistryError || ((err as { code?: string })?.code ?? '').startsWith('SQLITE');
}

/** Turns the errors SQLite and the file system raise into sentences about the registry file. */
export function describeDbError(err: unknown, file: string): RegistryError {
  if (err instanceof RegistryError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const why = (() => {
    if (code.startsWith('SQLITE_IOERR')) {
      // A full disk often surfaces as an I/O error (growing the WAL index, say), not SQLITE_FULL.
      return diskFull(file) ? `the disk holding ${file} is full` : `disk I/O error on ${file} (${code})`;
    }
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      return `${file} stayed locked by another writer for longer than the busy timeout; try again`;
    }
    switch (code) {
      case 'SQLITE_NOTADB':
        return `${file} is not a taskwatch database (it is not an SQLite file); pass another --db or move it away`;
      case 'SQLITE_CANTOPEN':
        return `cannot open ${file}: check that its directory exists and is writable`;
      case 'SQLITE_READONLY':
      case 'SQLITE_READONLY_DIRECTORY':
        return `${file} is read-only; taskwatch needs to write to it and to its directory`;
      case 'SQLITE_FULL':
        return `the disk holding ${file} is full`;
      case 'SQLITE_CORRUPT':
        return `${file} is corrupt: ${e.message}`;
      case 'ENOENT':
        return `cannot create ${file}: its directory does not exist`;
      case 'EISDIR':
        return `${file} is a directory, not a database file`;
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return `cannot write ${file}: ${e.message}`;
      default:
        return `database error on ${file}: ${e.message ?? String(err)}`;
    }
  })();
  const out = new RegistryError(why, code);
  out.cause = err;
  return out;
}

function diskFull(file: string): boolean {
  try {
    const st = statfsSync(dirname(file));
    return st.bavail * st.bsize < 64 * 1024;
  } catch {
    return false;
  }
}
