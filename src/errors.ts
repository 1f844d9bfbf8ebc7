import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

// One error type for everything a person should read: a sentence plus the exit code it maps to.
// Commands throw it; exactly one place (src/cli/run.ts) prints it and exits.
export class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

/** Exit codes of `control` and `parse` (launch has its own, see src/launch/outcome.ts). */
export const EXIT = {
  ok: 0,
  /** The request was understood but refused: unknown task, name taken, nothing to kill, missing file. */
  refused: 1,
  /** The command line itself is wrong. */
  usage: 2,
  /** The registry file cannot be used: not a database, not writable, locked too long, disk full. */
  database: 3,
} as const;

/** Turns the errors SQLite and the file system raise into sentences about the registry file. */
export function describeDbError(err: unknown, file: string, exitCode: number): ExitError {
  if (err instanceof ExitError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  const why = (() => {
    if (code.startsWith('SQLITE_IOERR')) {
      // A full disk often surfaces as an I/O error (growing the WAL index, say), not SQLITE_FULL.
      return diskFull(file) ? `the disk holding ${file} is full` : `disk I/O error on ${file} (${code})`;
    }
    switch (code) {
      case 'SQLITE_NOTADB':
        return `${file} is not a taskwatch database (it is not an SQLite file); pass another --db or move it away`;
      case 'SQLITE_CANTOPEN':
        return `cannot open ${file}: check that its directory exists and is writable`;
      case 'SQLITE_READONLY':
      case 'SQLITE_READONLY_DIRECTORY':
        return `${file} is read-only; taskwatch needs to write to it and to its directory`;
      case 'SQLITE_BUSY':
      case 'SQLITE_LOCKED':
        return `${file} stayed locked by another writer for longer than the busy timeout; try again`;
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
  const out = new ExitError(why, exitCode);
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
