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

/** Every exit code taskwatch's commands use, in one table. The README lists them. */
export const EXIT = {
  ok: 0,
  /** control, parse: the request was understood but refused (unknown task, name taken, nothing to kill, no such file). */
  refused: 1,
  /** control, parse: the command line itself is wrong. */
  usage: 2,
  /** control: the registry cannot be used (not a database, not writable, locked too long, disk full). */
  database: 3,
  /** launch: the task was stopped for its heartbeat timeout or --max-time (GNU timeout's code). */
  timeout: 124,
  /** launch: launch itself failed, or the ending could not be archived. */
  launchFailed: 125,
  /** launch: the command exists but cannot be executed. */
  notExecutable: 126,
  /** launch: the command was not found. */
  notFound: 127,
} as const;

/** launch's status for a command that died of a signal: 128 + its number, as shells report it. */
export const SIGNAL_BASE = 128;
