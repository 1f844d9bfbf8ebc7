import { homedir } from 'node:os';
import { join as joinPath, resolve as resolvePath } from 'node:path';

/** taskwatch's state directory: $XDG_STATE_HOME/taskwatch (~/.local/state/taskwatch by default). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return joinPath(env.XDG_STATE_HOME || joinPath(env.HOME || homedir(), '.local', 'state'), 'taskwatch');
}

/** `--db FILE`, else $TASKWATCH_DB, else $XDG_STATE_HOME/taskwatch/taskwatch.db (~/.local/state by default). */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { file: string; isDefault: boolean } {
  if (flag) return { file: resolvePath(flag), isDefault: false };
  if (env.TASKWATCH_DB) return { file: resolvePath(env.TASKWATCH_DB), isDefault: false };
  return { file: joinPath(stateDir(env), 'taskwatch.db'), isDefault: true };
}
