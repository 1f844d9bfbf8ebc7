import { unlinkSync } from 'node:fs';
import { readFeedbackFile } from './feedback/file';
import type { Ending, Registry } from './db/registry';

/** The task's last word: its feedback file parsed once more. Unreadable counts as none, never a crash. */
export function finalFeedback(file: string | null): { values: Record<string, string> | null; error?: string } {
  if (!file) return { values: null };
  try {
    const r = readFeedbackFile(file);
    return { values: r.found ? r.values : null };
  } catch (err) {
    return { values: null, error: `feedback file unreadable at the end: ${(err as Error).message}` };
  }
}

/** Errors worth another try: another writer, a full disk (any SQLITE_IOERR_* is often ENOSPC underneath). */
const transient = (code: string) => code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR');
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
  feedpath: string | null,
  e: Omit<Ending, 'feedback'>,
  o: { keepFeedback?: boolean } = {},
): Promise<number | null> {
  const fb = finalFeedback(feedpath);
  const ending: Ending = { ...e, feedback: fb.values, termerror: [e.termerror, fb.error].filter(Boolean).join('; ') || null };
  let histId: number | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      histId = reg.archive(id, ending);
      break;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!transient(code) || attempt >= RETRY_MS.length) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS[attempt]));
    }
  }
  if (feedpath && !o.keepFeedback) {
    try {
      unlinkSync(feedpath);
    } catch {
      /* already gone, or not a file we should remove (the task put a directory there): the ending is safe either way */
    }
  }
  return histId;
}
