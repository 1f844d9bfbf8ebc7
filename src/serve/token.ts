import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants as fsc, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openRegular } from '../safe-open';
import { ExitError, EXIT } from '../errors';

// The token that every request changing anything must carry (as Jupyter's): made once, kept in a
// 0600 file in the state directory, so a restarted server and a second one on the same registry
// take the same token and the URL printed once stays good.

const TOKEN_BYTES = 24;

export function loadToken(dir: string): { token: string; file: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'serve.token');
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = readToken(file);
    if (token !== null) return { token, file };
    try {
      const fd = openSync(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      const made = randomBytes(TOKEN_BYTES).toString('base64url');
      try {
        writeSync(fd, `${made}\n`);
      } finally {
        closeSync(fd);
      }
      return { token: made, file };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ExitError(`cannot make the token file ${file}: ${(err as Error).message}`, EXIT.refused);
      // another server made it at the same instant: read theirs
    }
  }
  throw new ExitError(`cannot read or make the token file ${file}`, EXIT.refused);
}

/** Reads the token (null when there is none), refusing a file someone else could have planted or read. */
function readToken(file: string): string | null {
  const refuse = (why: string) => new ExitError(`the token file ${file} ${why}; remove it and start again`, EXIT.refused);
  let opened: ReturnType<typeof openRegular>;
  try {
    opened = openRegular(file); // no link followed, no FIFO waited on, a regular file or a sentence
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw refuse(code ? `cannot be read (${code})` : (err as Error).message.replace(/^it /, ''));
  }
  if (!opened) return null;
  const { fd, stat } = opened;
  try {
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid) throw refuse('belongs to another user');
    if ((stat.mode & 0o077) !== 0) throw refuse(`can be read by others (mode ${(stat.mode & 0o777).toString(8)})`);
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const token = buf.subarray(0, n).toString().trim();
    if (!/^[A-Za-z0-9_-]{16,200}$/.test(token)) throw refuse('does not hold a token');
    return token;
  } finally {
    closeSync(fd);
  }
}

/** Compares in constant time: how long the check takes says nothing of the token. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
