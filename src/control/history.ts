import { EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { Registry } from '../db/registry';
import type { Command } from './command';
import { historyEntry, type HistoryEntry } from './entries';

export function listHistory(reg: Registry, o: { limit: number; name?: string }): HistoryEntry[] {
  return reg.history(o).map(historyEntry);
}

/** control --history [--limit N] [--name NAME] [--json] */
export const command: Command = (a) => {
  const limit = a.limit === undefined ? 50 : parseId(a.limit, '--limit', EXIT.usage);
  return (reg, out) => {
    const entries = listHistory(reg, { limit, name: a.name });
    // The table's module (cli-table3) loads only when a table is printed.
    out(a.json ? JSON.stringify(entries) : (require('./render') as typeof import('./render')).renderHistory(entries));
    return EXIT.ok;
  };
};
