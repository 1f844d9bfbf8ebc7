import { unlinkSync } from 'node:fs';
import { readFeedbackFile } from './feedback/file';
import { isTransient } from './db/errors';
import type { Registry } from './db/registry';
import { endingFields, type Ending } from './task/outcome';

/** The task's last word: its feedback file parsed once more. Unreadable counts as none, never a crash. */
export function finalFeedback(file: string | null): { values: Record<string, string> | null; note?: string } {
  if (!file) return { values: null };
  try {
    const r = readFeedbackFile(file);
    return { values: r.found ? r.values : null };
  } catch (err) {
    return { values: null, note: `feedback file unreadable at the end: ${(err as Error).message}` };
  }
}

/** Backoff between archive attempts when the file is locked past the busy timeout, or the disk is full. */
const RETRY_MS = [100, 250, 500, 1000, 2000, 4000];

/**
 * Archives a live task with its final feedback, then deletes the feedback file: archive first,
 * delete second, so an ending is never lost with its file. Transient database errors are retried;
 * if every attempt fails the error is thrown and the feedback file is left in place.
 */
export async function endTask(
  reg: Registry,
  id: number,
  feedFile: string | null,
  ending: Ending,
  o: { keepFeedback?: boolean; notes?: string[] } = {},
): Promise<number | null> {
  const fb = finalFeedback(feedFile);
  const fields = { ...endingFields(ending, [...(o.notes ?? []), ...(fb.note ? [fb.note] : [])]), feedback: fb.values };
  let histId: number | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      histId = reg.archive(id, fields);
      break;
    } catch (err) {
      if (!isTransient(err) || attempt >= RETRY_MS.length) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS[attempt]));
    }
  }
  if (feedFile && !o.keepFeedback) {
    try {
      unlinkSync(feedFile);
    } catch {
      /* already gone, or not a file we should remove (the task put a directory there): the ending is safe either way */
    }
  }
  return histId;
}
