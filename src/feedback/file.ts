import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { FeedbackParser, toObject } from './parse';

export function feedbackFileName(dir: string, taskid: number): string {
  return joinPath(resolvePath(dir), `feedback_${taskid}.log`);
}

export interface FeedbackRead {
  values: Record<string, string>;
  /** False when the file does not exist (a task that has not written yet). */
  found: boolean;
  lines: number;
  ignored: number;
}

const CHUNK = 1 << 16;

/**
 * Parses a feedback file in 64 KiB pieces, so memory stays bounded by the distinct keys however
 * large the file is. Invalid UTF-8 becomes U+FFFD rather than an error. A missing file is not an
 * error (found: false); any other failure to read is thrown for the caller to put into words.
 */
export function readFeedbackFile(file: string): FeedbackRead {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { values: {}, found: false, lines: 0, ignored: 0 };
    throw err;
  }
  const parser = new FeedbackParser();
  try {
    const decoder = new StringDecoder('utf8');
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      parser.push(decoder.write(buf.subarray(0, n)));
    }
    parser.push(decoder.end());
  } finally {
    closeSync(fd);
  }
  return { values: toObject(parser.end()), found: true, lines: parser.lines, ignored: parser.ignored };
}

/** The file's mtime in epoch ms, or null when it cannot be seen (deleted, unreadable dir). */
export function heartbeatMs(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}
