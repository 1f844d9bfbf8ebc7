import { EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { HistoryFilter, Registry } from '../db/registry';
import type { Command } from './command';
import { tables } from './tables';
import { historyEntry, type HistoryEntry } from './entries';

export function listHistory(reg: Registry, o: HistoryFilter & { limit: number }): HistoryEntry[] {
  return reg.history(o).map(historyEntry);
}

/** control --history [--limit N] [--name NAME] [--json] */
export const command: Command = (a) => {
  const limit = a.limit === undefined ? 50 : parseId(a.limit, '--limit', EXIT.usage);
  return (reg, out) => {
    const entries = listHistory(reg, { limit, name: a.name, host: a.host });
    if (a.json) out(JSON.stringify(entries));
    else out(tables().renderHistory(entries, tables().layoutFor(a.wide === true)));
    return EXIT.ok;
  };
};
