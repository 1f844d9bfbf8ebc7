import { constants } from 'node:os';
import { EXIT, SIGNAL_BASE } from '../errors';

// How a task ended, built in one place (endingOf) from how its process exited and why it was
// stopped. Like pueue's TaskResult, each outcome carries only the fields that make sense for it.

export type Outcome = 'exited' | 'signaled' | 'timeout' | 'killed' | 'lost' | 'failed_to_start';

/** What waitpid said: an exit code, or the signal that ended the process. */
export type Exit = { code: number; signal: null } | { code: null; signal: string };

/** Why the watcher stopped the task itself, or why nobody saw it end; the first reason recorded wins. */
export interface Reason {
  kind: 'timeout' | 'killed' | 'lost';
  note: string;
}

export type Ending =
  | { outcome: 'exited'; code: number }
  | { outcome: 'signaled'; signal: string }
  | { outcome: 'timeout' | 'killed'; why: string; exit: Exit }
  | { outcome: 'lost'; why: string }
  | { outcome: 'failed_to_start'; why: string; errno: string | null };

/** The one place an ending is made from (exit, signal, stop reason). A missing exit is a lost task. */
export function endingOf(exit: Exit | null, reason: Reason | null): Ending {
  if (reason?.kind === 'lost' || exit === null) return { outcome: 'lost', why: reason?.note ?? 'nobody saw it end; exit status unknown' };
  if (reason) return { outcome: reason.kind, why: reason.note, exit };
  return exit.signal !== null ? { outcome: 'signaled', signal: exit.signal } : { outcome: 'exited', code: exit.code };
}

/** A command that could not be started: not there (127), not executable (126), or another failure (125). */
export function failedToStart(errno: string | null, command: string, message?: string): Ending {
  const why = errno === 'ENOENT'
    ? `command not found: ${command}`
    : errno !== null && NOT_EXECUTABLE.includes(errno)
      ? `command not executable: ${command} (${errno})`
      : `cannot start ${command}: ${message ?? errno ?? 'unknown error'}`;
  return { outcome: 'failed_to_start', why, errno };
}

const NOT_EXECUTABLE = ['EACCES', 'EPERM', 'ENOEXEC', 'EISDIR', 'ENOTDIR'];

export function signalNumber(sig: string): number {
  return (constants.signals as Record<string, number>)[sig] ?? 0;
}

/** launch's own exit status for an ending, as GNU timeout and shells report it. */
export function exitStatus(e: Ending): number {
  switch (e.outcome) {
    case 'exited':
      return e.code;
    case 'signaled':
      return SIGNAL_BASE + signalNumber(e.signal);
    case 'timeout':
      return EXIT.timeout;
    case 'killed':
      return e.exit.signal !== null ? SIGNAL_BASE + signalNumber(e.exit.signal) : e.exit.code;
    case 'lost':
      return EXIT.launchFailed;
    case 'failed_to_start':
      return e.errno === 'ENOENT' ? EXIT.notFound : e.errno !== null && NOT_EXECUTABLE.includes(e.errno) ? EXIT.notExecutable : EXIT.launchFailed;
  }
}

/** The columns a history row stores for an ending; `notes` (feedback caps, leftovers...) follow the error text. */
export interface EndingFields {
  outcome: Outcome;
  exitcode: number | null;
  termsignal: string | null;
  termerror: string | null;
}

export function endingFields(e: Ending, notes: readonly string[] = []): EndingFields {
  const f = ((): EndingFields => {
    switch (e.outcome) {
      case 'exited':
        return { outcome: e.outcome, exitcode: e.code, termsignal: null, termerror: e.code ? `exited with code ${e.code}` : null };
      case 'signaled':
        return { outcome: e.outcome, exitcode: null, termsignal: e.signal, termerror: `killed by ${e.signal}` };
      case 'timeout':
      case 'killed': {
        const natural = e.exit.signal !== null ? `killed by ${e.exit.signal}` : e.exit.code ? `exited with code ${e.exit.code}` : null;
        return { outcome: e.outcome, exitcode: e.exit.code, termsignal: e.exit.signal, termerror: `${e.why}${natural ? ` (${natural})` : ''}` };
      }
      case 'lost':
      case 'failed_to_start':
        return { outcome: e.outcome, exitcode: null, termsignal: null, termerror: e.why };
    }
  })();
  const text = [f.termerror, ...notes].filter(Boolean).join('; ');
  return { ...f, termerror: text || null };
}

/**
 * launch's exit status for an archived run: as recorded, or, for records made before taskwatch kept
 * it, derived from the outcome's columns as exitStatus would have made it.
 */
export function recordedStatus(r: { status: number | null; outcome: Outcome | null } & Omit<EndingFields, 'outcome'>): number {
  if (r.status !== null) return r.status;
  switch (r.outcome) {
    case 'exited':
      return r.exitcode ?? 0;
    case 'signaled':
      return SIGNAL_BASE + signalNumber(r.termsignal ?? '');
    case 'timeout':
      return EXIT.timeout;
    case 'killed':
      return r.termsignal ? SIGNAL_BASE + signalNumber(r.termsignal) : (r.exitcode ?? SIGNAL_BASE + signalNumber('SIGTERM'));
    case 'failed_to_start':
      return /^command not found/.test(r.termerror ?? '') ? EXIT.notFound : /^command not executable/.test(r.termerror ?? '') ? EXIT.notExecutable : EXIT.launchFailed;
    default:
      return EXIT.launchFailed;
  }
}
