import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Looks again this long after the last event of a burst. inotify reports a commit's write() to the
 * WAL, but SQLite makes the commit visible a moment later, by updating the WAL index in shared
 * memory, which no event reports: a reader woken by the last write of a burst can still see the
 * state before it, and nothing would wake it again.
 */
const SETTLE_MS = [10, 50, 250];

/**
 * Calls `onChange` whenever another process may have changed the registry: every commit writes its
 * WAL (or, without WAL, the file itself). By inotify on the file's directory, which also sees the
 * WAL file come and go, then a few looks after the burst (see SETTLE_MS); nothing polls.
 * Returns what stops the watch.
 */
export function watchRegistry(file: string, onChange: () => void): () => void {
  const base = basename(file);
  const names = new Set([base, `${base}-wal`]);
  let pending = false;
  let settle: NodeJS.Timeout | undefined;
  const later = (i: number) => {
    settle = i < SETTLE_MS.length ? setTimeout(() => {
      onChange();
      later(i + 1);
    }, SETTLE_MS[i] - (i > 0 ? SETTLE_MS[i - 1] : 0)) : undefined;
  };
  const w = watch(dirname(file), (_event, name) => {
    if (name !== null && !names.has(name)) return;
    clearTimeout(settle);
    later(0);
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      onChange();
    });
  });
  w.on('error', () => {});
  return () => {
    clearTimeout(settle);
    w.close();
  };
}
