import { hostname } from 'node:os';

/** The name this machine's tasks are recorded under: $TASKWATCH_HOST, else the hostname. */
export function hostName(env: NodeJS.ProcessEnv = process.env): string {
  const h = env.TASKWATCH_HOST?.trim();
  return h ? h : hostname();
}
