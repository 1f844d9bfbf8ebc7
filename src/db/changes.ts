import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onChange` whenever another process may have changed the registry: every commit writes its
 * WAL (or, without WAL, the file itself). By inotify on the file's directory, which also sees the
 * WAL file come and go; nothing polls. Returns what stops the watch.
 */
export function watchRegistry(file: string, onChange: () => void): () => void {
  const base = basename(file);
  const names = new Set([base, `${base}-wal`]);
  let pending = false;
  const w = watch(dirname(file), (_event, name) => {
    if (name !== null && !names.has(name)) return;
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      onChange();
    });
  });
  w.on('error', () => {});
  return () => w.close();
}
