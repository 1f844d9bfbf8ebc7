import { openSync, writeSync } from 'node:fs';

/** `-v`: log lines to stderr. Otherwise to a log file whose path is printed once. */
export function makeLogger(prog: string, verbose: boolean, file: string): (msg: string) => void {
  if (verbose) return (msg) => process.stderr.write(`${new Date().toISOString()} ${prog}: ${msg}\n`);
  process.stderr.write(`${prog}: logging to ${file}\n`);
  const fd = openSync(file, 'a');
  return (msg) => {
    writeSync(fd, `${new Date().toISOString()} ${msg}\n`);
  };
}

/** The options every fleet program shares: where to log, where to heartbeat, which address. */
export function fleetOptions<T>(y: import('yargs').Argv<T>, hostHelp: string) {
  return y
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log to stderr instead of a log file' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: hostHelp })
    .option('feedback', { type: 'string', describe: 'feedback file (default $TASKWATCH_FEEDBACK)' })
    .option('log', { type: 'string', describe: 'log file when not -v' });
}
