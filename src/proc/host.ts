import { hostname } from 'node:os';

/** The name this machine's tasks are recorded under: $TASKWATCH_HOST, else the hostname. */
export function hostName(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.TASKWATCH_HOST?.trim();
  return h ? h : hostname();
}

/**
 * Whether a task recorded under `host` runs on this machine (rows from before hosts were kept count
 * as here). Only then may its pids be read or signalled, or its files opened: another host's pid
 * or path names something unrelated here. `here` lets a loop ask the system once.
 */
export const isThisHost = (host: string | null, here: string = hostName()): boolean => host === null || host === here;
