import { ExitError, EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { Command } from './command';
import { describeUnknown } from './lookup';
import { endTask } from '../archive';
import { isHere, launcherAlive } from '../lost';
import { hostName } from '../proc/host';
import { endingOf } from '../task/outcome';

/**
 * control --forget ID: archives a LOST task as lost without touching any of its processes. For a
 * task of another host whose launcher is gone (nothing here may signal its pids), or one whose
 * processes are to be left alone; a task whose launcher still watches it is refused (use --kill).
 */
export const command: Command = (a) => {
  const id = parseId(a.forget, '--forget', EXIT.usage);
  return async (reg, out) => {
    const t = reg.task(id);
    if (!t) throw describeUnknown(reg, id, 'nothing to forget');
    if (t.state === 'RESERVED') throw new ExitError(`task ${id} is reserved, not launched; give it back with --release ${id}`, EXIT.refused);
    if (launcherAlive(t)) throw new ExitError(`task ${id} still has its launcher (pid ${t.launcher?.pid}${t.host ? ` on ${t.host}` : ''}); stop it with --kill ${id}`, EXIT.refused);
    const where = isHere(t) ? '' : ` on ${t.host}`;
    const note = `forgotten by control --forget (pid ${process.pid} on ${hostName()}): its launcher was gone, and its processes${where} were left untouched`;
    await endTask(reg, t, endingOf(null, { kind: 'lost', note }), { keepFeedback: true });
    out(a.json ? JSON.stringify({ forgotten: id }) : `task ${id} archived as lost; its processes${where} were not touched`);
    return EXIT.ok;
  };
};
