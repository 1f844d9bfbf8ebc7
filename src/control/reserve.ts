import { ExitError, EXIT } from '../errors';
import { parseSeconds } from '../cli/args';
import type { Registry } from '../db/registry';
import type { Command, ControlArgs, Out } from './command';

/** control --reserve [--name N] [--unique] [--ttl S]: prints the new id, or the holder of a unique name. */
export const command: Command = (a) => {
  if (a.unique && !a.name) throw new ExitError('--unique needs a --name to be unique about', EXIT.usage);
  const ttlSec = a.ttl === undefined ? undefined : parseSeconds(a.ttl, '--ttl', EXIT.usage);
  return (reg, out) => reserve(a, ttlSec, reg, out);
};

function reserve(a: ControlArgs, ttlSec: number | undefined, reg: Registry, out: Out): number {
  const r = reg.reserve({ name: a.name, info1: a.info1, info2: a.info2, info3: a.info3, unique: a.unique === true, ttlSec });
  if (!r.ok) {
    const h = r.holder;
    const pid = h.state !== 'RESERVED' && h.leader ? `, pid ${h.leader.pid}` : '';
    throw new ExitError(`the name '${a.name}' is held by live task ${h.id} (${h.state.toLowerCase()}${pid}); not reserved`, EXIT.refused);
  }
  out(a.json ? JSON.stringify({ taskid: r.id }) : String(r.id));
  return EXIT.ok;
};
