// setTimeout holds at most 2^31-1 ms (24.8 days); a longer delay fires at once, and Node warns.
// --max-time 2592000 (30 days) and --timeout 20000000 are legitimate, so long delays are chained.

export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  cancel(): void;
}

/** Calls `fn` once after `ms` (any finite length; Infinity never), on the monotonic clock like setTimeout. */
export function longTimeout(fn: () => void, ms: number): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const due = performance.now() + ms;
  const arm = () => {
    if (cancelled) return;
    const left = due - performance.now();
    if (left <= 0) return fn();
    timer = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
  };
  if (Number.isFinite(ms)) arm();
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
