import { watch } from 'chokidar';
import type { Registry } from '../db/registry';
import { feedbackOf } from './lookup';

/**
 * `control --feedback ID --follow`: prints the task's feedback, then again whenever its file
 * changes (chokidar, so rename-and-replace writes count too), and once more from history when the
 * task has ended for good (a restarting task: after its last run); then resolves. The first print waits until the watch is ready, so no change between
 * the two is missed. A person can stop it at any time with Ctrl-C.
 */
export function followFeedback(reg: Registry, id: number, out: (line: string) => void): Promise<void> {
  const first = JSON.stringify(feedbackOf(reg, id)); // the usual sentences for unknown or reserved ids
  const t = reg.task(id);
  const file = t && t.state !== 'RESERVED' ? t.watch?.feedFile : undefined;
  if (!file) {
    out(first); // already ended: history holds the last word
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    let last: string | undefined;
    let unwatchRegistry = () => {};
    const watcher = watch(file, { ignoreInitial: true });
    const finish = (err?: unknown) => {
      unwatchRegistry();
      void watcher.close().then(() => (err ? reject(err) : resolve()));
    };
    const check = () => {
      try {
        const ended = !reg.task(id);
        const now = JSON.stringify(feedbackOf(reg, id));
        if (now !== last) out((last = now));
        if (ended) finish();
      } catch (err) {
        finish(err);
      }
    };
    watcher.on('all', check);
    watcher.on('error', finish);
    watcher.on('ready', () => {
      check();
      // The launcher deletes the file after archiving; with --keep-feedback nothing changes at the
      // end, so a change of the registry is also a reason to look.
      unwatchRegistry = reg.watch(check);
    });
  });
}
