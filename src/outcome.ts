import { constants } from 'node:os';

// How a task ended, derived in one place from (exit code, signal, stop reason).

export type Outcome = 'exited' | 'signaled' | 'timeout' | 'killed' | 'lost' | 'failed_to_start';

/** Why the launcher stopped a task itself; the first reason recorded wins. */
export interface StopReason {
  kind: 'timeout' | 'killed';
  note: string;
}

export interface Result {
  outcome: Outcome;
  exitcode: number | null;
  termsignal: string | null;
  termerror: string | null;
  /** launch's own exit status, as GNU timeout and shells report it. */
  status: number;
}

export const EXIT_TIMEOUT = 124;
export const EXIT_LAUNCH_FAILED = 125;
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;

export function signalNumber(sig: string): number {
  return (constants.signals as Record<string, number>)[sig] ?? 0;
}

export function resultOfExit(code: number | null, signal: string | null, reason: StopReason | null): Result {
  const status = reason?.kind === 'timeout' ? EXIT_TIMEOUT : signal ? 128 + signalNumber(signal) : (code ?? 0);
  const natural = signal ? `killed by ${signal}` : code ? `exited with code ${code}` : null;
  return {
    outcome: reason?.kind ?? (signal ? 'signaled' : 'exited'),
    exitcode: signal ? null : code,
    termsignal: signal,
    termerror: reason ? `${reason.note}${natural ? ` (${natural})` : ''}` : natural,
    status,
  };
}

/** A command that could not be started: 127 if it is not there, 126 if it cannot be executed. */
export function resultOfSpawnError(err: NodeJS.ErrnoException, command: string): Result {
  const notFound = err.code === 'ENOENT';
  const cannotExec = ['EACCES', 'EPERM', 'ENOEXEC', 'EISDIR', 'ENOTDIR'].includes(err.code ?? '');
  const why = notFound ? `command not found: ${command}` : cannotExec ? `command not executable: ${command} (${err.code})` : `cannot start ${command}: ${err.message}`;
  return {
    outcome: 'failed_to_start',
    exitcode: null,
    termsignal: null,
    termerror: why,
    status: notFound ? EXIT_NOT_FOUND : cannotExec ? EXIT_NOT_EXECUTABLE : EXIT_LAUNCH_FAILED,
  };
}
