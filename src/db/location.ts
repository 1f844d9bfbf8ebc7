import * as os from 'node:os';
import * as path from 'node:path';

/** `--db FILE`, else $TASKWATCH_DB, else $XDG_STATE_HOME/taskwatch/taskwatch.db (~/.local/state by default). */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): { file: string; isDefault: boolean } {
  if (flag) return { file: path.resolve(flag), isDefault: false };
  if (env.TASKWATCH_DB) return { file: path.resolve(env.TASKWATCH_DB), isDefault: false };
  const state = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
  return { file: path.join(state, 'taskwatch', 'taskwatch.db'), isDefault: true };
}
