import { closeSync, readSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ExitError, EXIT } from '../errors';
import { parseId } from '../cli/args';
import type { Registry } from '../db/registry';
import { isThisHost } from '../proc/host';
import { openRegular } from '../safe-open';
import { recordedStatus } from '../task/outcome';
import type { Command } from './command';
import { describeUnknown } from './lookup';

// control --logs ID [--lines N] [--follow]: what a task sent to its --log files, live or ended.
// The paths come from the registry, which a task can write, so a file is shown only if it is a
// regular file (no link followed) owned by the registry's owner or by whoever asks.

/** The task's log files: its live row's, else its last run's. */
function logFiles(reg: Registry, id: number): string[] {
  const t = reg.task(id);
  let paths: Array<string | null>;
  let host: string | null;
  if (t) {
    if (t.state === 'RESERVED') throw new ExitError(`task ${id} is reserved and has not started; it has no logs yet`, EXIT.refused);
    paths = [t.logs.stdout, t.logs.stderr];
    host = t.host;
  } else {
    const h = reg.historyOf(id);
    if (!h) throw describeUnknown(reg, id, 'no logs to show');
    paths = [h.log_out, h.log_err];
    host = h.host ?? null;
  }
  const files = [...new Set(paths.filter((p): p is string => p !== null))];
  if (files.length === 0) throw new ExitError(`task ${id} was launched without --log, so its output was not kept`, EXIT.refused);
  // Log paths are the task's host's: here they would name some other file, or none.
  if (!isThisHost(host)) throw new ExitError(`task ${id} ran on host ${host}; its logs are there (${files.join(', ')}): run control --logs on ${host}`, EXIT.refused);
  return files;
}

/** Opens a log file the registry names, or says why not. */
function openLog(reg: Registry, file: string): { fd: number; size: number; ino: number } | null {
  let opened;
  try {
    opened = openRegular(file);
  } catch (err) {
    throw new ExitError(`cannot show ${file}: ${(err as Error).message}`, EXIT.refused);
  }
  if (!opened) return null;
  // The registry file's owner, whose tasks wrote these logs; a PostgreSQL registry has no file, so only the asker's own.
  const owner = reg.kind === 'sqlite' ? statSync(reg.file).uid : process.getuid?.();
  if (opened.stat.uid !== owner && opened.stat.uid !== process.getuid?.()) {
    closeSync(opened.fd);
    throw new ExitError(`${file} belongs to another user than the registry's; not shown`, EXIT.refused);
  }
  return { fd: opened.fd, size: opened.stat.size, ino: opened.stat.ino };
}

function readRange(fd: number, from: number, to: number): Buffer {
  const buf = Buffer.alloc(Math.max(0, to - from));
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, from + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** The last `lines` lines of a log, reaching into its rotated predecessor (FILE.1) if the file has fewer. */
function tail(reg: Registry, file: string, lines: number): { text: string; offset: number; ino: number | null } {
  const parts: string[] = [];
  let want = lines;
  let offset = 0;
  let ino: number | null = null;
  for (const [i, f] of [file, `${file}.1`].entries()) {
    const o = openLog(reg, f);
    if (!o) continue;
    try {
      if (i === 0) {
        offset = o.size;
        ino = o.ino;
      }
      // Read back in 64 KiB steps until enough newlines are in hand.
      let from = o.size;
      let chunk = Buffer.alloc(0);
      while (from > 0 && chunk.toString('latin1').split('\n').length <= want + 1) {
        const start = Math.max(0, from - 65536);
        chunk = Buffer.concat([readRange(o.fd, start, from), chunk]);
        from = start;
      }
      const all = chunk.toString('utf8').split('\n');
      if (all[all.length - 1] === '') all.pop();
      const take = all.slice(Math.max(0, all.length - want));
      parts.unshift(take.join('\n') + (take.length ? '\n' : ''));
      want -= take.length;
    } finally {
      closeSync(o.fd);
    }
    if (want <= 0) break;
  }
  return { text: parts.join(''), offset, ino };
}

/** Prints what is appended to the logs until the task has ended for good; a rotated file is read again from its start. */
function follow(reg: Registry, id: number, files: Array<{ file: string; offset: number; ino: number | null }>, out: (text: string) => void): Promise<void> {
  const many = files.length > 1;
  let lastShown: string | null = null;
  return new Promise((resolve, reject) => {
    const watchers: Array<ReturnType<typeof watch>> = [];
    let stop = () => {};
    const drain = () => {
      for (const f of files) {
        const o = openLog(reg, f.file);
        if (!o) continue;
        try {
          if (o.ino !== f.ino || o.size < f.offset) {
            f.offset = 0; // rotated: the new file from its start
            f.ino = o.ino;
          }
          if (o.size > f.offset) {
            const text = readRange(o.fd, f.offset, o.size).toString('utf8');
            f.offset = o.size;
            if (many && lastShown !== f.file) out(`==> ${f.file} <==\n`);
            lastShown = f.file;
            out(text);
          }
        } finally {
          closeSync(o.fd);
        }
      }
    };
    const check = () => {
      try {
        drain();
        if (!reg.task(id)) {
          stop();
          for (const w of watchers) w.close();
          resolve();
        }
      } catch (err) {
        stop();
        for (const w of watchers) w.close();
        reject(err);
      }
    };
    for (const dir of new Set(files.map((f) => dirname(f.file)))) {
      const names = new Set(files.filter((f) => dirname(f.file) === dir).map((f) => basename(f.file)));
      const w = watch(dir, (_e, name) => {
        if (name === null || names.has(name)) check();
      });
      w.on('error', () => {});
      watchers.push(w);
    }
    stop = reg.watch(check);
    check();
  });
}

/** control --logs ID [--lines N] [--follow] */
export const command: Command = (a) => {
  const id = parseId(a.logs, '--logs', EXIT.usage);
  const lines = a.lines === undefined ? 20 : parseId(a.lines, '--lines', EXIT.usage);
  return async (reg) => {
    const write = (text: string) => process.stdout.write(text); // raw: a log need not end its lines
    const files = logFiles(reg, id);
    const shown = files.map((file) => {
      const t = tail(reg, file, lines);
      if (files.length > 1) write(`==> ${file} <==\n`);
      write(t.text);
      return { file, offset: t.offset, ino: t.ino };
    });
    if (!a.follow) return EXIT.ok;
    await follow(reg, id, shown, write);
    const h = reg.historyOf(id);
    return h ? recordedStatus(h) : EXIT.ok;
  };
};
