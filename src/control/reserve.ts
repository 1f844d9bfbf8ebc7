import { ExitError, EXIT } from '../errors';
import type { Infos, Registry } from '../db/registry';

export function reserve(reg: Registry, o: Infos & { unique?: boolean; ttlSec?: number }): number {
  if (o.unique && !o.name) throw new ExitError('--unique needs a --name to be unique about', EXIT.usage);
  const r = reg.reserve(o);
  if (r.ok) return r.id;
  const h = r.holder;
  throw new ExitError(`the name '${o.name}' is held by live task ${h.id} (${h.status.toLowerCase()}${h.pid ? `, pid ${h.pid}` : ''}); not reserved`, EXIT.refused);
}
