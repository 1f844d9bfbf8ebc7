import Table from 'cli-table3';
import type Database from 'better-sqlite3';
import { STATE_NAMES, type TaskRecord } from './taskdb';
import { MAX_TASK_NAME_BYTES } from './frame';
import { localTime } from '../time';

// The original controller reads `worker` as a C string and crashes on NULL: tasks are made with ''.
const INSERT = `INSERT OR IGNORE INTO demo_task (task_name, sleep_time, state, worker) VALUES (?, ?, 0, '')`;

/** Adds `count` tasks with random unique names and sleep times in 0..maxSleep, in one transaction. */
export function createTasks(db: Database.Database, count: number, maxSleep: number): number {
  const insert = db.prepare(INSERT);
  const space = Math.max(100_000, count * 20); // names like the seed's task_53782, spread out enough to rarely collide
  return db.transaction(() => {
    let made = 0;
    while (made < count) {
      const name = `task_${Math.floor(Math.random() * space)}`;
      made += insert.run(name, Math.floor(Math.random() * (maxSleep + 1))).changes;
    }
    return made;
  })();
}

/** Why a task name cannot be used by the original programs, or null when it can. */
export function badTaskName(name: string): string | null {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) return 'a task name cannot be empty';
  if (name.includes('\0')) return 'a task name cannot hold a NUL byte';
  if (bytes > MAX_TASK_NAME_BYTES) return `'${name}' is ${bytes} bytes; the original worker takes task names of at most ${MAX_TASK_NAME_BYTES}`;
  return null;
}

/** Adds one named task; false when a task of that name exists already. The name must be checked first. */
export function addTask(db: Database.Database, name: string, sleep: number): boolean {
  return db.prepare(INSERT).run(name, sleep).changes === 1;
}

export function allTasks(db: Database.Database): TaskRecord[] {
  return db.prepare(`SELECT * FROM demo_task ORDER BY COALESCE(worker, '') = '', worker, assign_time, task_name`).all() as TaskRecord[];
}

export function renderTasks(rows: TaskRecord[]): string {
  const t = new Table({ head: ['Task name', 'Sleep time', 'State', 'Worker', 'Assign time', 'Complete time'], style: { head: [], border: [] } });
  for (const r of rows) {
    t.push([r.task_name, String(r.sleep_time), STATE_NAMES[r.state] ?? String(r.state), r.worker ?? '', localTime(r.assign_time), localTime(r.complete_time)]);
  }
  return t.toString();
}

export function jsonTasks(rows: TaskRecord[]): object[] {
  return rows.map((r) => ({ ...r, state_name: STATE_NAMES[r.state] ?? null }));
}
