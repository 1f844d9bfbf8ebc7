import { renameSync, unlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { cappedNote, readFeedbackFile } from './feedback/file';
import { isBusy, isTransient, isUnreachable } from './db/errors';
import type { Registry } from './db/registry';
import type { LaunchedTask } from './task/model';
import { endingFields, exitStatus, type Ending } from './task/outcome';

/** The task's last word: its feedback file parsed once more, within the caps. Unreadable counts as none, never a crash. */
export function finalFeedback(file: string | null): { values: Record<string, string> | null; notes: string[] } {
  if (!file) return { values: null, notes: [] };
  try {
    const r = readFeedbackFile(file);
    const capped = cappedNote(r.capped);
    return { values: r.found ? r.values : null, notes: capped ? [capped] : [] };
  } catch (err) {
    return { values: null, notes: [`feedback file unreadable at the end: ${(err as Error).message}`] };
  }
}

/** Waits between archive attempts; past the list, the last wait repeats. */
const RETRY_MS = [50, 100, 250, 500, 1000, 2000, 4000];
/** A full disk gets a few seconds to clear; another writer's lock, or an unreachable PostgreSQL, two minutes. */
const FULL_BUDGET_MS = 8000;
const BUSY_BUDGET_MS = 120_000;

export interface EndOptions {
  keepFeedback?: boolean;
  /** Not the task's last run: its row waits for the next one, due then (epoch s). */
  restartAt?: number;
  /** More to say in the record: leftovers, a registry that had to be recreated... */
  notes?: string[];
  /** When the process ended (epoch s); now by default. */
  endedAt?: number;
}

/**
 * Archives a task with its final feedback, then deletes the feedback file: archive first, delete
 * second, so an ending is never lost with its file. Transient database errors are retried (a
 * lock for up to two minutes, a full disk for a few seconds); if every attempt fails the error is
 * thrown and the feedback file is left in place.
 */
export async function endTask(reg: Registry, t: LaunchedTask, ending: Ending, o: EndOptions = {}): Promise<void> {
  const feedFile = t.watch?.feedFile ?? null;
  const fb = finalFeedback(feedFile);
  const fields = { ...endingFields(ending, [...(o.notes ?? []), ...fb.notes]), status: exitStatus(ending), feedback: fb.values, endedAt: o.endedAt ?? Date.now() / 1000 };
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      reg.archive(t, fields, o.restartAt === undefined ? null : { at: o.restartAt });
      break;
    } catch (err) {
      const budget = isBusy(err) || isUnreachable(err) ? BUSY_BUDGET_MS : FULL_BUDGET_MS;
      if (!isTransient(err) || Date.now() - started >= budget) throw err;
      await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
    }
  }
  if (!feedFile) return;
  try {
    // The next run gets a fresh file under the same name: a kept one steps aside, named for its run.
    if (!o.keepFeedback) unlinkSync(feedFile); // removes a link itself, never what it points to
    else if (o.restartAt !== undefined) renameSync(feedFile, feedFile.replace(/\.log$/, `.run${t.run}.log`));
  } catch {
    /* already gone, or not a file we should remove (the task put a directory there): the ending is safe either way */
  }
}
