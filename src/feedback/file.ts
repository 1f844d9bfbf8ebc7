import { closeSync, constants as fsc, lstatSync, openSync, readSync } from 'node:fs';
import { openRegular } from '../safe-open';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { FeedbackParser, MAX_KEYS, MAX_VALUE_CHARS, toObject, type Capped } from './parse';

// A task's feedback file is written by the task, which may be hostile or broken: it may put a FIFO
// (whose open would hang), a symlink to /dev/zero (endless) or to someone else's file there. So it
// is opened as src/safe-open.ts opens such files, and read at most up to the size it had when
// opened, and at most MAX_READ_BYTES.

/** The most of one feedback file anyone reads. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

/**
 * The file's name is unique to the registry (its key) as well as to the task, so that a file left
 * by another registry, or another registry sharing the directory, is never taken for this task's.
 */
export function feedbackFileName(dir: string, registryKey: string, taskid: number): string {
  return joinPath(resolvePath(dir), `feedback_${taskid}-${registryKey}.log`);
}

export interface FeedbackRead {
  values: Record<string, string>;
  /** False when the file does not exist (a task that has not written yet). */
  found: boolean;
  lines: number;
  ignored: number;
  capped: Capped & { bytesUnread: number };
}

const CHUNK = 1 << 16;
/**
 * Parses a feedback file in 64 KiB pieces, so memory stays bounded by the caps however large the
 * file is. Invalid UTF-8 becomes U+FFFD rather than an error. A missing file is not an error
 * (found: false); anything other than a regular file is refused with a sentence, never waited on.
 * `follow` lets a person's own argument (parse --feedback LINK) be a symlink; a task's never is.
 */
export function readFeedbackFile(file: string, o: { follow?: boolean; maxBytes?: number } = {}): FeedbackRead {
  const max = o.maxBytes ?? MAX_READ_BYTES;
  const opened = openRegular(file, o);
  if (!opened) return { values: {}, found: false, lines: 0, ignored: 0, capped: { keysDropped: 0, valuesCut: 0, bytesUnread: 0 } };
  const { fd, stat } = opened;
  const parser = new FeedbackParser();
  const size = stat.size;
  try {
    const limit = Math.min(size, max);
    const decoder = new StringDecoder('utf8');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let done = 0; done < limit; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, limit - done), null);
      if (n === 0) break; // truncated while we read
      done += n;
      parser.push(decoder.write(buf.subarray(0, n)));
    }
    parser.push(decoder.end());
  } finally {
    closeSync(fd);
  }
  const values = toObject(parser.end());
  return { values, found: true, lines: parser.lines, ignored: parser.ignored, capped: { ...parser.capped, bytesUnread: Math.max(0, size - max) } };
}

/** What the caps left out, as a clause for the archived record, or null when nothing was. */
export function cappedNote(c: FeedbackRead['capped']): string | null {
  const parts = [
    c.keysDropped ? `${c.keysDropped} lines with new keys past ${MAX_KEYS} keys dropped` : '',
    c.valuesCut ? `${c.valuesCut} values cut to ${MAX_VALUE_CHARS} characters` : '',
    c.bytesUnread ? `${c.bytesUnread} bytes past the first ${MAX_READ_BYTES / 1048576} MiB not read` : '',
  ].filter(Boolean);
  return parts.length ? `feedback capped: ${parts.join(', ')}` : null;
}

/**
 * A heartbeat as the file shows it: its mtime and its ctime (which only the kernel sets), to the
 * nanosecond, so that two looks are equal only if the file's times have not changed at all (launch
 * compares them, and hands them to its watch helper).
 */
export interface Beat {
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** The file's times when it is a regular file; null when it is missing, or anything else (a link is not followed). */
export function heartbeatOf(file: string): Beat | null {
  try {
    const st = lstatSync(file, { bigint: true, throwIfNoEntry: false });
    return st?.isFile() ? { mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs } : null;
  } catch {
    return null;
  }
}

/** A beat's ctime in ms since the epoch, for ages. */
export const ctimeMsOf = (b: Beat): number => Number(b.ctimeNs) / 1e6;

/**
 * Creates the task's feedback file before the task starts, refusing anything already at the path
 * (a stale file, or a link planted by someone else): the task writes only into a file it was given.
 */
export function createFeedbackFile(file: string): void {
  closeSync(openSync(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o666));
}
