import { EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { HistoryFilter, Registry } from '../db/registry';
import type { Command } from './command';
import { tables } from './tables';
import { historyEntry, type HistoryEntry } from './entries';

export function listHistory(reg: Registry, o: HistoryFilter & { limit: number }): HistoryEntry[] {
  return reg.history(o).map(historyEntry);
}

/** Rows per page: each page is read, printed and dropped before the next. */
const PAGE = 2000;

/** Resolves when the stream has drained, or has closed or failed (its reader gone). */
function drained(out: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const e of ['drain', 'close', 'error']) out.off(e, done);
      resolve();
    };
    for (const e of ['drain', 'close', 'error']) out.on(e, done);
  });
}

/**
 * The same JSON text as JSON.stringify of every entry, written a page at a time (newest first, each
 * page below the lowest id printed so far: an index lookup, not an OFFSET that rescans). A page waits
 * for the last to drain when stdout is a pipe whose reader is slower: memory stays flat.
 */
async function streamJson(reg: Registry, f: HistoryFilter, limit: number): Promise<void> {
  // A reader gone (`| head`) ends the listing: nothing more to read it, nothing wrong with the registry.
  const gone = () => process.stdout.destroyed || process.stdout.errored !== null;
  const write = async (text: string) => {
    if (!gone() && !process.stdout.write(text)) await drained(process.stdout);
  };
  await write('[');
  let before: number | undefined;
  let printed = false;
  for (let left = limit; left > 0 && !gone(); ) {
    const { items, count, lowest } = reg.historyJson({ ...f, before, limit: Math.min(PAGE, left) });
    if (lowest === null) break;
    for (const item of items) {
      await write((printed ? ',' : '') + (typeof item === 'string' ? item : JSON.stringify(historyEntry(item))));
      printed = true;
    }
    left -= count;
    before = lowest;
  }
  await write(']\n');
}

/** control --history [--limit N] [--name NAME] [--json] */
export const command: Command = (a) => {
  const limit = a.limit === undefined ? 50 : parseId(a.limit, '--limit', EXIT.usage);
  return async (reg, out) => {
    const filter = { name: a.name, host: a.host };
    if (a.json) await streamJson(reg, filter, limit);
    else out(tables().renderHistory(listHistory(reg, { ...filter, limit }), tables().layoutFor(a.wide === true)));
    return EXIT.ok;
  };
};
