import { constants as fsc, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitError, EXIT } from '../errors';

/** A peer's string (worker id, task name) made safe for a log line: control characters shown as \xNN. */
export const clean = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/**
 * `-v`: log lines to stderr. Otherwise to a log file whose path is printed once: `--log FILE`
 * (appended to, never through a symbolic link, which someone else may have planted), or a file in
 * a new private directory (not a predictable name in the shared temp directory).
 */
export function makeLogger(prog: string, verbose: boolean, file: string | undefined): (msg: string) => void {
  if (verbose) return (msg) => process.stderr.write(`${new Date().toISOString()} ${prog}: ${clean(msg)}\n`);
  const path = file ?? join(mkdtempSync(join(tmpdir(), `${prog.split(' ')[0]}-`)), `${prog.replace(/\W+/g, '-')}.log`);
  let fd: number;
  try {
    fd = openSync(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw Object.assign(new Error(code === 'ELOOP' ? `the log file ${path} is a symbolic link; not followed` : `cannot open the log file ${path}: ${code}`), { code: 'LOGFILE' });
  }
  process.stderr.write(`${prog}: logging to ${path}\n`);
  return (msg) => {
    writeSync(fd, `${new Date().toISOString()} ${clean(msg)}\n`);
  };
}

/** The options every fleet program shares: where to log, where to heartbeat, which address. */
export function fleetOptions<T>(y: import('yargs').Argv<T>, hostHelp: string) {
  return y
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log to stderr instead of a log file' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: hostHelp })
    .option('feedback', { type: 'string', describe: 'feedback file (default $TASKWATCH_FEEDBACK)' })
    .option('log', { type: 'string', describe: 'log file when not -v (default: one in a new private directory)' });
}

/** makeLogger for a command: a log file that cannot be opened is a sentence and exit 1. */
export function openLog(prog: string, verbose: boolean, file: string | undefined): (msg: string) => void {
  try {
    return makeLogger(prog, verbose, file);
  } catch (err) {
    throw new ExitError((err as Error).message, EXIT.refused);
  }
}
