import Table from 'cli-table3';
import type Database from 'better-sqlite3';
import { STATE_NAMES, type TaskRecord } from './taskdb';
import { localTime } from '../time';

/** Adds `count` tasks with random unique names and sleep times in 0..maxSleep, in one transaction. */
export function createTasks(db: Database.Database, count: number, maxSleep: number): number {
  const insert = db.prepare(`INSERT OR IGNORE INTO demo_task (task_name, sleep_time, state) VALUES (?, ?, 0)`);
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

export function allTasks(db: Database.Database): TaskRecord[] {
  return db.prepare(`SELECT * FROM demo_task ORDER BY worker IS NULL, worker, assign_time, task_name`).all() as TaskRecord[];
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
