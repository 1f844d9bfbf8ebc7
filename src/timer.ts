// setTimeout holds at most 2^31-1 ms (24.8 days); a longer delay fires at once, and Node warns.
// --max-time 2592000 (30 days) and --timeout 20000000 are legitimate, so long delays are chained.

export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Below this, a sleep's overshoot (0.1%) is under a millisecond: one sleep is enough. */
const PRECISE_FROM_MS = 1000;

export interface LongTimer {
  cancel(): void;
}

// A long sleep can overshoot in proportion to its length: on the virtual machines here, an epoll wait
// of 7,020 ms returned after 7,027 (0.1%), so a kill due 65 s after the last look came 70 ms late.
// A deadline that must be kept (`precise`) is slept to 1% short of it, then the rest: one wake-up
// more (a few for a deadline days away, each 1% of the last), and the rest's own overshoot is a
// hundred times smaller.

/** Calls `fn` once after `ms` (any finite length; Infinity never), on the monotonic clock like setTimeout. */
export function longTimeout(fn: () => void, ms: number, o: { precise?: boolean } = {}): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const due = performance.now() + ms;
  const arm = () => {
    if (cancelled) return;
    const left = due - performance.now();
    if (left <= 0) return fn();
    const wait = o.precise && left > PRECISE_FROM_MS ? left * 0.99 : left;
    timer = setTimeout(arm, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  };
  if (Number.isFinite(ms)) arm();
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
