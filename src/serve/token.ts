import { randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants as fsc, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ExitError, EXIT } from '../errors';

// The token that every request changing anything must carry (as Jupyter's): made once, kept in a
// 0600 file in the state directory, so a restarted server and a second one on the same registry
// take the same token and the URL printed once stays good.

const TOKEN_BYTES = 24;

export function loadToken(dir: string): { token: string; file: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'serve.token');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return { token: readToken(file), file };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      const fd = openSync(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      const token = randomBytes(TOKEN_BYTES).toString('base64url');
      try {
        writeSync(fd, `${token}\n`);
      } finally {
        closeSync(fd);
      }
      return { token, file };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ExitError(`cannot make the token file ${file}: ${(err as Error).message}`, EXIT.refused);
      // another server made it at the same instant: read theirs
    }
  }
  throw new ExitError(`cannot read or make the token file ${file}`, EXIT.refused);
}

/** Reads the token, refusing a file someone else could have planted or read. */
function readToken(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw err;
    if (code === 'ELOOP') throw new ExitError(`the token file ${file} is a symbolic link; remove it and start again`, EXIT.refused);
    throw new ExitError(`cannot read the token file ${file}: ${(err as Error).message}`, EXIT.refused);
  }
  try {
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile()) throw new ExitError(`the token file ${file} is not a regular file; remove it and start again`, EXIT.refused);
    if (uid !== undefined && st.uid !== uid) throw new ExitError(`the token file ${file} belongs to another user; remove it and start again`, EXIT.refused);
    if ((st.mode & 0o077) !== 0) throw new ExitError(`the token file ${file} can be read by others (mode ${(st.mode & 0o777).toString(8)}); remove it and start again`, EXIT.refused);
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const token = buf.subarray(0, n).toString().trim();
    if (!/^[A-Za-z0-9_-]{16,200}$/.test(token)) throw new ExitError(`the token file ${file} does not hold a token; remove it and start again`, EXIT.refused);
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
