import { ExitError } from '../errors';

/** A task id: a positive whole number. */
export function parseId(value: unknown, flag: string, exitCode: number): number {
  const s = String(value ?? '').trim();
  if (!/^\d+$/.test(s) || Number(s) <= 0 || !Number.isSafeInteger(Number(s))) {
    throw new ExitError(`${flag} needs a task id, a positive whole number; got '${String(value ?? '')}'`, exitCode);
  }
  return Number(s);
}

/** A number of seconds; `min` is exclusive unless `allowZero`. */
export function parseSeconds(value: unknown, flag: string, exitCode: number, allowZero = false): number {
  const s = String(value ?? '').trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new ExitError(`${flag} needs a number of seconds${allowZero ? '' : ' above 0'}; got '${String(value ?? '')}'`, exitCode);
  }
  return n;
}
