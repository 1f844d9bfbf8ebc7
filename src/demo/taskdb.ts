import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { addonPath } from '../db/addon';

// The original's table, kept as is so that its programs and ours share a database.
export const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS demo_task (task_name TEXT PRIMARY KEY, sleep_time INTEGER, state INTEGER,
  worker TEXT, assign_time INTEGER, complete_time INTEGER)`;

export const TaskState = { Created: 0, Running: 1, Killed: 2, Success: 3 } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];
export const STATE_NAMES: Record<number, string> = { 0: 'TaskCreated', 1: 'TaskRunning', 2: 'TaskKilled', 3: 'TaskSuccess' };

export interface TaskRecord {
  task_name: string;
  sleep_time: number;
  state: TaskState;
  worker: string | null;
  assign_time: number | null;
  complete_time: number | null;
}

export const unixNow = (): number => Math.floor(Date.now() / 1000);

export function openTaskDb(file: string, create: boolean): Database.Database {
  const db = new Database(file, { fileMustExist: !create, timeout: 10000, nativeBinding: addonPath() });
  try {
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    if (create) db.exec(CREATE_TABLE);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Identity of the file behind a path, to notice removal or replacement under an open handle. */
export function fileIdentity(file: string): string | null {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

type Op = () => void;

/** An assignment's claim on a task: decided when the write is committed, read in afterCommit. */
export interface Claim {
  ok: boolean;
}

/**
 * The controller's view of the demo_task table, in an SQLite file (TaskDb) or in PostgreSQL
 * (PgTaskDb, where several controllers share one table). Writes are queued and committed together;
 * `afterCommit` runs what must wait for them (a message to a worker).
 */
export interface TaskStore {
  /** The file or URL, for messages. */
  readonly where: string;
  onError: (err: Error) => void;
  unfinished(): TaskRecord[];
  counts(): Record<number, number>;
  /** Records a task as the worker's (the worker says it has it). */
  assign(name: string, worker: string, at: number): void;
  /** Takes a task for the worker, unless another controller has taken it meanwhile. */
  claim(name: string, worker: string, at: number): Claim;
  complete(name: string, worker: string, at: number): void;
  kill(name: string): void;
  afterCommit(send: Op): void;
  flush(): void;
  close(): void;
  /** What the table is: it changes when the file or table is removed or replaced; null when it is gone. */
  identity(): string | null;
}

/**
 * Writing ahead, for either database: what the controller tells a worker (an assignment, the
 * answer to a completion) waits until the database has recorded it. Writes are queued and committed
 * together once per turn of the event loop (one transaction for every message that turn handled,
 * not one per message), and the messages queued behind them are sent right after the commit. So a
 * controller killed at any instant has never told a worker anything its database does not hold,
 * and no task runs twice.
 */
export abstract class WriteAhead<W> {
  private pending: W[] = [];
  private after: Op[] = [];
  private scheduled = false;

  /** Where a failed background commit is reported (the writes, and the messages behind them, stay queued for the next flush). */
  onError: (err: Error) => void = (err) => {
    throw err;
  };

  /** Commits these writes in one transaction, or throws and commits none. */
  protected abstract commit(writes: W[]): void;

  /** How many writes wait: the index the next one will have in the batch committed. */
  protected get queued(): number {
    return this.pending.length;
  }

  /** Runs `send` once everything queued so far is committed. */
  afterCommit(send: Op): void {
    if (this.pending.length === 0 && !this.scheduled) return send();
    this.after.push(send);
  }

  flush(): void {
    this.scheduled = false;
    const writes = this.pending;
    if (writes.length > 0) {
      this.commit(writes);
      this.pending = []; // only after the commit: a failed one keeps its writes (and their messages) for the next try
    }
    const sends = this.after;
    this.after = [];
    for (const send of sends) send();
  }

  protected queue(w: W): void {
    this.pending.push(w);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.tryFlush());
    }
  }

  /** A commit that fails (the file locked too long, the disk full, the server away) is tried again shortly. */
  private tryFlush(): void {
    try {
      this.flush();
    } catch (err) {
      this.onError(err as Error);
      if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => this.tryFlush(), 100).unref();
      }
    }
  }
}

/** The table in an SQLite file, one controller per file. */
export class TaskDb extends WriteAhead<Op> implements TaskStore {
  private readonly stmts;
  /** Made once: better-sqlite3 builds a transaction's wrapper functions anew at every db.transaction(). */
  private readonly inTransaction: (ops: Op[]) => void;

  constructor(
    readonly db: Database.Database,
    readonly where: string,
  ) {
    super();
    db.exec(CREATE_TABLE);
    this.stmts = {
      unfinished: db.prepare(`SELECT * FROM demo_task WHERE state != ${TaskState.Success}`),
      get: db.prepare(`SELECT * FROM demo_task WHERE task_name = ?`),
      assign: db.prepare(`UPDATE demo_task SET state = ${TaskState.Running}, worker = ?, assign_time = ? WHERE task_name = ?`),
      complete: db.prepare(`UPDATE demo_task SET state = ${TaskState.Success}, worker = ?, complete_time = ? WHERE task_name = ?`),
      kill: db.prepare(`UPDATE demo_task SET state = ${TaskState.Killed} WHERE task_name = ? AND state = ${TaskState.Running}`),
      counts: db.prepare(`SELECT state, COUNT(*) AS n FROM demo_task GROUP BY state`),
    };
    this.inTransaction = db.transaction((ops: Op[]) => ops.forEach((op) => op()));
  }

  unfinished(): TaskRecord[] {
    return this.stmts.unfinished.all() as TaskRecord[];
  }

  get(name: string): TaskRecord | undefined {
    return this.stmts.get.get(name) as TaskRecord | undefined;
  }

  counts(): Record<number, number> {
    const out: Record<number, number> = { 0: 0, 1: 0, 2: 0, 3: 0 };
    for (const r of this.stmts.counts.all() as Array<{ state: number; n: number }>) out[r.state] = r.n;
    return out;
  }

  assign(name: string, worker: string, at: number): void {
    this.queue(() => this.stmts.assign.run(worker, at, name));
  }

  /** One controller per file: its claims always hold. */
  claim(name: string, worker: string, at: number): Claim {
    this.assign(name, worker, at);
    return { ok: true };
  }

  identity(): string | null {
    return fileIdentity(this.where);
  }

  complete(name: string, worker: string, at: number): void {
    this.queue(() => this.stmts.complete.run(worker, at, name));
  }

  kill(name: string): void {
    this.queue(() => this.stmts.kill.run(name));
  }

  protected commit(ops: Op[]): void {
    this.inTransaction(ops);
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
