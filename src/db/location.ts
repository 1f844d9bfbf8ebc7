import { homedir } from 'node:os';
import { join as joinPath, resolve as resolvePath } from 'node:path';

/** `--db FILE`, else $TASKWATCH_DB, else $XDG_STATE_HOME/taskwatch/taskwatch.db (~/.local/state by default). */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { file: string; isDefault: boolean } {
  if (flag) return { file: resolvePath(flag), isDefault: false };
  if (env.TASKWATCH_DB) return { file: resolvePath(env.TASKWATCH_DB), isDefault: false };
  const state = env.XDG_STATE_HOME || joinPath(env.HOME || homedir(), '.local', 'state');
  return { file: joinPath(state, 'taskwatch', 'taskwatch.db'), isDefault: true };
}
