import * as fs from 'node:fs';

/**
 * Writes the process's state as `[key]value` lines to its feedback file, which is also its heartbeat.
 * The timer runs on the main event loop on purpose: if the loop hangs, the heartbeat stops with it.
 * Each write replaces the file whole (write, then rename), so a reader never sees half of it. A
 * write that fails is reported (once, until one succeeds again): a silent heartbeat is a kill.
 */
export class FeedbackWriter {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly file: string | undefined,
    private readonly snapshot: () => Record<string, string | number>,
    private readonly onError: (msg: string) => void = () => {},
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
      this.failing = false;
    } catch (err) {
      // The task must not die of it, but its watcher will see the silence: say why.
      if (!this.failing) this.onError(`cannot write the feedback file ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      this.failing = true;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.write();
  }
}
