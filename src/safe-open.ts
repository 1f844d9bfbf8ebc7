import { closeSync, constants as fsc, fstatSync, openSync, type Stats } from 'node:fs';

// Files that a task (or another user) may have put in place, opened so that nothing they put there
// can hurt the reader: a symlink is not followed, a FIFO does not block the open, and anything but a
// regular file is refused with a sentence.

const KIND: Array<[(s: Stats) => boolean, string]> = [
  [(s) => s.isDirectory(), 'a directory (EISDIR)'],
  [(s) => s.isFIFO(), 'a FIFO'],
  [(s) => s.isSocket(), 'a socket'],
  [(s) => s.isCharacterDevice() || s.isBlockDevice(), 'a device'],
];

/**
 * Opens a regular file for reading; null when it does not exist. `follow` lets a person's own
 * argument (parse --feedback LINK) be a symlink; a task's file never is.
 */
export function openRegular(file: string, o: { follow?: boolean } = {}): { fd: number; stat: Stats } | null {
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NONBLOCK | (o.follow ? 0 : fsc.O_NOFOLLOW));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new Error('it is a symbolic link, which is not followed');
    throw err;
  }
  try {
    const stat = fstatSync(fd);
    const kind = KIND.find(([is]) => is(stat));
    if (kind || !stat.isFile()) throw new Error(`it is ${kind?.[1] ?? 'not a regular file'}, not a regular file`);
    return { fd, stat };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
