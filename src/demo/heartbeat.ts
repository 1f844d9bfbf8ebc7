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
