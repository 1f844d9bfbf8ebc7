import type { Ending } from './outcome';

// When a task runs again, decided in one place. As pm2's exp-backoff-restart-delay: the wait
// doubles from MIN up to MAX with each failure in a row, and starts over from MIN after a run that
// lasted longer than MAX. A stall (heartbeat timeout) is a failure; a kill is the end, always.

export type RestartPolicy = 'no' | 'on-failure' | 'always';

export interface RestartRule {
  policy: RestartPolicy;
  /** At most this many restarts (runs beyond the first); null: no limit. */
  maxRestarts: number | null;
  backoffMinSec: number;
  backoffMaxSec: number;
}

export const DEFAULT_BACKOFF = { minSec: 0.1, maxSec: 30 } as const;

/** Where a task stands in its restarts: how many so far, and how many failures in a row. */
export interface RestartState {
  restarts: number;
  streak: number;
}

export type RestartDecision =
  | { restart: false; why: string }
  | { restart: true; delayMs: number; next: RestartState };

/** A failure, for on-failure: anything but a clean exit 0. */
export const failed = (e: Ending): boolean => !(e.outcome === 'exited' && e.code === 0);

export function nextRun(rule: RestartRule, e: Ending, ranMs: number, s: RestartState): RestartDecision {
  if (e.outcome === 'killed') return { restart: false, why: 'it was killed' };
  if (rule.policy === 'no') return { restart: false, why: 'no --restart' };
  if (rule.policy === 'on-failure' && !failed(e)) return { restart: false, why: 'it succeeded (--restart on-failure)' };
  if (rule.maxRestarts !== null && s.restarts >= rule.maxRestarts) {
    return { restart: false, why: `it was restarted ${s.restarts} time${s.restarts === 1 ? '' : 's'} already (--max-restarts ${rule.maxRestarts})` };
  }
  const streak = ranMs > rule.backoffMaxSec * 1000 ? 0 : s.streak; // a long run starts the backoff over
  const delayMs = Math.min(rule.backoffMinSec * 1000 * 2 ** streak, rule.backoffMaxSec * 1000);
  return { restart: true, delayMs, next: { restarts: s.restarts + 1, streak: streak + 1 } };
}

/** `--backoff MIN[:MAX]` in seconds; null when it does not read so. */
export function parseBackoff(v: string): { minSec: number; maxSec: number } | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?::\s*(\d+(?:\.\d+)?)\s*)?$/.exec(v);
  if (!m) return null;
  const minSec = Number(m[1]);
  const maxSec = m[2] === undefined ? Math.max(minSec, DEFAULT_BACKOFF.maxSec) : Number(m[2]);
  return maxSec >= minSec ? { minSec, maxSec } : null;
}
