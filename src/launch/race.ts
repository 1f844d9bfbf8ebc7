import { signalTask, type TaskTarget } from '../proc/members';
import { terminate, type TerminateResult } from '../proc/terminate';
import type { LaunchedTask } from '../task/model';
import type { Reason } from '../task/outcome';
import { longTimeout } from '../timer';

/**
 * The watch as a race: the child exits, its heartbeat goes quiet, --max-time passes, or launch is
 * signalled (which is how control --kill asks). The first stop reason wins; whatever happens, the
 * ending is archived the moment the child exits, and what is left of the task still gets SIGKILL
 * after the grace.
 */
export class Race {
  reason: Reason | null = null;
  /** A stop signal that came before the task was running. */
  early: NodeJS.Signals | null = null;
  terminating: Promise<TerminateResult> | null = null;
  target: TaskTarget | null = null;
  private grace = 0;
  private readKillRequest: () => LaunchedTask['killRequest'] = () => null;

  constructor(private readonly log: (m: string) => void) {}

  running(target: TaskTarget, graceSec: number, readKillRequest: () => LaunchedTask['killRequest']): void {
    this.target = target;
    this.grace = graceSec;
    this.readKillRequest = readKillRequest;
    if (this.early) this.signalled(this.early);
  }

  stop(r: Reason, graceSec = this.grace): void {
    if (this.reason || !this.target) return;
    this.reason = r;
    this.log(`stopping (${r.note}); SIGTERM to its processes, SIGKILL after ${graceSec} s`);
    this.terminating = terminate(this.target, graceSec * 1000);
  }

  signalled(sig: NodeJS.Signals): void {
    if (!this.target) {
      this.early ??= sig;
      return;
    }
    if (this.reason) {
      if (sig === 'SIGINT') this.trySignal('SIGKILL'); // a second Ctrl-C does not wait for the grace
      return;
    }
    const req = this.readKillRequest(); // control --kill leaves its note and grace before it signals
    if (req) this.stop({ kind: 'killed', note: req.note }, req.graceSec ?? this.grace);
    else this.stop({ kind: 'killed', note: `launch received ${sig}` });
  }

  forward(sig: NodeJS.Signals): void {
    if (this.target) this.trySignal(sig);
  }

  private trySignal(sig: NodeJS.Signals): void {
    try {
      if (this.target) signalTask(this.target, sig);
    } catch (err) {
      this.log(`could not send ${sig}: ${(err as Error).message}`);
    }
  }

  /** control --kill may have left its note after its signal (the registry was locked): credit it. */
  settleNote(): void {
    if (this.reason?.kind !== 'killed' || !this.reason.note.startsWith('launch received')) return;
    const req = this.readKillRequest();
    if (req) this.reason = { kind: 'killed', note: req.note };
  }
}

/**
 * launch's signals across runs: the run going now gets them. A stop signal also means no run
 * follows: one that comes before the first run or between runs ends the task for good at once.
 */
export class Runs {
  current: Race | null = null;
  /** The stop signal that ended the task's runs, whenever it came. */
  stopped: NodeJS.Signals | null = null;
  private wake: () => void = () => {};

  constructor(private readonly log: (m: string) => void) {}

  /** A race for the next run. */
  next(): Race {
    this.current = new Race(this.log);
    return this.current;
  }

  signalled(sig: NodeJS.Signals): void {
    this.stopped ??= sig;
    this.current?.signalled(sig);
    this.wake();
  }

  forward(sig: NodeJS.Signals): void {
    this.current?.forward(sig);
  }

  /** Between runs: waits `ms`; false when a stop signal cut it short (or had come already). */
  async wait(ms: number): Promise<boolean> {
    this.current = null;
    if (this.stopped) return false;
    await new Promise<void>((resolve) => {
      const timer = longTimeout(resolve, ms);
      this.wake = () => {
        timer.cancel();
        resolve();
      };
    });
    this.wake = () => {};
    return this.stopped === null;
  }
}
