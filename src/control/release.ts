import { ExitError, EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { Command } from './command';
import { describeUnknown } from './lookup';

/** control --release ID: gives back a reservation that will not be launched. */
export const command: Command = (a) => {
  const id = parseId(a.release, '--release', EXIT.usage);
  return (reg, out) => {
    const t = reg.task(id);
    if (!t) throw describeUnknown(reg, id, 'nothing to release');
    if (t.state !== 'RESERVED') throw new ExitError(`task ${id} is running, not reserved; stop it with --kill ${id}`, EXIT.refused);
    if (!reg.release(id)) throw new ExitError(`task ${id} was launched meanwhile; stop it with --kill ${id}`, EXIT.refused);
    out(a.json ? JSON.stringify({ released: id }) : `released task ${id}`);
    return EXIT.ok;
  };
};
