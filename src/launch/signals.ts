import { constants } from 'node:os';

// Every signal whose default action would kill launch is handled, so launch never dies leaving its
// task unwatched and unrecorded: most end the task as SIGTERM does; SIGUSR1 and SIGUSR2 are passed
// on to it (and a listener on SIGUSR1 keeps Node from opening its inspector, which would let any
// local user run code as launch's owner). Signals that were ignored when launch started (nohup,
// `cmd &` in a script) stay ignored, by launch and by the task.

/** These stop the task (outcome killed). The fault signals (SEGV, BUS...) are Node's own business. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGPWR', 'SIGSTKFLT', 'SIGXCPU', 'SIGIO'] as const;
/** These are forwarded to the task's processes. */
export const FORWARD_SIGNALS = ['SIGUSR1', 'SIGUSR2'] as const;

const NAMES = new Map(Object.entries(constants.signals as Record<string, number>).map(([name, n]) => [n, name]));

/**
 * The signals ignored when launch started. Node resets every disposition before any JavaScript
 * runs, so the bin's sh wrapper reads SigIgn from /proc before it execs node and passes it on.
 */
export function ignoredOnEntry(mask: string | undefined): string[] {
  if (!mask || !/^[0-9a-fA-F]{1,16}$/.test(mask)) return [];
  const bits = BigInt(`0x${mask}`);
  const out: string[] = [];
  for (let n = 1; n < 32; n++) {
    const name = NAMES.get(n);
    if (name && name !== 'SIGKILL' && name !== 'SIGSTOP' && (bits >> BigInt(n - 1)) & 1n) out.push(name);
  }
  return out;
}

export class LaunchSignals {
  constructor(
    readonly ignored: readonly string[],
    private readonly onStop: (sig: NodeJS.Signals) => void,
    private readonly onForward: (sig: NodeJS.Signals) => void,
  ) {}

  install(): void {
    const ignore = () => {};
    for (const sig of [...STOP_SIGNALS, ...FORWARD_SIGNALS]) {
      const handler = this.ignored.includes(sig) ? ignore : (FORWARD_SIGNALS as readonly string[]).includes(sig) ? () => this.onForward(sig) : () => this.onStop(sig);
      process.on(sig, handler); // for launch's whole life: even while it exits, no signal may kill it silently
    }
  }
}
