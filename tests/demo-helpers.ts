import * as net from 'node:net';
import * as path from 'node:path';
import { decodeAssignment, encodeReport, FrameReader, MIN_ASSIGNMENT_FRAME, type Assignment } from '../src/demo/frame';
import { bin, run, start, waitFor } from './helpers';
import { openTaskDb, type TaskRecord } from '../src/demo/taskdb';

export const admin = (...args: string[]) => run(process.execPath, [bin('task-admin'), ...args]);

export function tasks(db: string): TaskRecord[] {
  const d = openTaskDb(db, false);
  try {
    return d.prepare('SELECT * FROM demo_task ORDER BY task_name').all() as TaskRecord[];
  } finally {
    d.close();
  }
}

export function addTasks(db: string, rows: Array<[string, number]>): void {
  const d = openTaskDb(db, true);
  const ins = d.prepare('INSERT INTO demo_task (task_name, sleep_time, state) VALUES (?, ?, 0)');
  d.transaction(() => rows.forEach(([n, s]) => ins.run(n, s)))();
  d.close();
}

/** Starts task-controller -v and resolves once it listens, with its port. */
export async function startController(db: string, port: number, ...extra: string[]) {
  const c = start(process.execPath, [bin('task-controller'), '-v', '-p', String(port), '-d', db, ...extra]);
  let err = '';
  c.stderr!.on('data', (d) => (err += d));
  const m = await waitFor(() => /listening on 127\.0\.0\.1:(\d+)/.exec(err) ?? (c.exitCode !== null ? Promise.reject(new Error(err)) : null), 15_000, 'the controller to listen');
  return Object.assign(c, { port: Number(m[1]), log: () => err });
}

export function startWorker(port: number, id: string, ...extra: string[]) {
  return start(process.execPath, [bin('task-worker'), '-v', '-p', String(port), '-w', id, ...extra]);
}

/** A raw TCP client speaking the wire format by hand. */
export async function rawClient(port: number) {
  const s = net.connect({ host: '127.0.0.1', port });
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  const reader = new FrameReader(MIN_ASSIGNMENT_FRAME);
  const got: Assignment[] = [];
  let closed = false;
  s.on('data', (d: Buffer) => reader.push(d).forEach((b) => got.push(decodeAssignment(b))));
  s.on('close', () => (closed = true));
  s.on('error', () => {});
  return {
    socket: s,
    got,
    isClosed: () => closed,
    report: (workerId: string, taskName: string, timeLeft: number) => s.write(encodeReport({ workerId, taskName, timeLeft })),
    next: async (n = got.length + 1): Promise<Assignment> => {
      await waitFor(() => got.length >= n, 15_000, `assignment #${n}`);
      return got[n - 1];
    },
  };
}

export const dbIn = (dir: string) => path.join(dir, 'tasks.db');
