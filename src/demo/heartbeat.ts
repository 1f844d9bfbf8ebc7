import * as fs from 'node:fs';

/**
 * Writes the process's state as `[key]value` lines to its feedback file, which is also its heartbeat.
 * The timer runs on the main event loop on purpose: if the loop hangs, the heartbeat stops with it.
 * Each write replaces the file whole (write, then rename), so a reader never sees half of it.
 */
export class FeedbackWriter {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string | undefined,
    private readonly snapshot: () => Record<string, string | number>,
  ) {}

  start(intervalMs = 500): void {
    if (!this.file) return;
    this.write();
    this.timer = setInterval(() => this.write(), intervalMs);
  }

  write(): void {
    if (!this.file) return;
    const text = Object.entries(this.snapshot())
      .map(([k, v]) => `[${k}]${String(v).replace(/[\r\n]+/g, ' ')}\n`)
      .join('');
    const tmp = `${this.file}.tmp`;
    try {
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, this.file);
    } catch {
      /* a missing directory must not kill the task; the watcher will see the silence */
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.write();
  }
}

/** `-v`: log lines to stderr. Otherwise to a log file whose path is printed once. */
export function makeLogger(prog: string, verbose: boolean, file: string): (msg: string) => void {
  if (verbose) return (msg) => process.stderr.write(`${new Date().toISOString()} ${prog}: ${msg}\n`);
  process.stderr.write(`${prog}: logging to ${file}\n`);
  const fd = fs.openSync(file, 'a');
  return (msg) => {
    fs.writeSync(fd, `${new Date().toISOString()} ${msg}\n`);
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
