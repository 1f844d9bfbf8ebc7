import * as net from 'node:net';
import { decodeReport, encodeAssignment, FrameReader, MIN_REPORT_FRAME, type WorkerReport } from './frame';
import { fileIdentity, TaskDb, TaskState, unixNow } from './taskdb';
import { FeedbackWriter } from './heartbeat';

export interface ControllerOptions {
  host: string;
  port: number;
  dbFile: string;
  intervalSec: number;
  marginSec: number;
  feedback?: string;
  log: (msg: string) => void;
}

interface Task {
  name: string;
  sleep: number;
  state: TaskState;
  worker: string | null;
  assignTime: number | null;
  /** The connection of the worker running it, if that worker is connected. */
  conn: Conn | null;
}

interface Conn {
  id: number;
  socket: net.Socket;
  reader: FrameReader;
  workerId: string | null;
  task: Task | null;
  /** Idle, waiting for a task to become available (killed or newly added) while others still run. */
  parked: boolean;
  closed: boolean;
}

const EXIT_FRAME = encodeAssignment({ taskName: '', sleepTime: 0 });

/**
 * The task controller of epoll_demo: loads unfinished tasks, dispatches them to workers over TCP,
 * reclaims the tasks of slackers and of lost connections, and exits when no work is left (0) or
 * when its database file is removed or replaced (1, after telling every worker to exit).
 */
export class Controller {
  private readonly tasks = new Map<string, Task>();
  private queue: Task[] = [];
  private qhead = 0;
  private readonly conns = new Set<Conn>();
  private server: net.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private identity: string | null = null;
  private remaining = 0;
  private doneBefore = 0;
  private doneNow = 0;
  private nextConnId = 1;
  private finishing = false;
  private resolveRun: (code: number) => void = () => {};
  private readonly feedback: FeedbackWriter;
  port = 0;

  constructor(
    private readonly o: ControllerOptions,
    private readonly db: TaskDb,
  ) {
    this.port = o.port;
    this.feedback = new FeedbackWriter(o.feedback, () => this.snapshot());
    db.onError = (err) => o.log(`database write failed (will retry): ${err.message}`);
  }

  /** Resolves with the exit status once the controller is done. */
  run(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.resolveRun = resolve;
      this.identity = fileIdentity(this.o.dbFile);
      this.doneBefore = this.db.counts()[TaskState.Success];
      this.reload();
      if (this.remaining === 0) {
        this.o.log('no unfinished tasks; nothing to do');
        this.db.close();
        resolve(0);
        return;
      }
      const server = net.createServer((s) => this.accept(s));
      this.server = server;
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.db.close();
        reject(err);
      });
      server.listen(this.o.port, this.o.host, () => {
        this.port = (server.address() as net.AddressInfo).port;
        this.o.log(`listening on ${this.o.host}:${this.port} with ${this.remaining} unfinished tasks`);
        this.timer = setInterval(() => this.tick(), this.o.intervalSec * 1000);
        this.feedback.start();
      });
    });
  }

  /** Stops without telling workers anything (they keep retrying): for SIGTERM, or a restart. */
  async stop(): Promise<void> {
    await this.finish(143, false);
  }

  private snapshot(): Record<string, string | number> {
    let running = 0;
    let killed = 0;
    let created = 0;
    for (const t of this.tasks.values()) {
      if (t.state === TaskState.Running) running++;
      else if (t.state === TaskState.Killed) killed++;
      else if (t.state === TaskState.Created) created++;
    }
    return {
      role: 'controller',
      port: this.port,
      tasks_total: this.doneBefore + this.tasks.size,
      tasks_created: created,
      tasks_running: running,
      tasks_done: this.doneBefore + this.doneNow,
      tasks_killed: killed,
      workers_connected: [...this.conns].filter((c) => c.workerId !== null).length,
    };
  }

  private reload(): void {
    for (const r of this.db.unfinished()) {
      if (this.tasks.has(r.task_name)) continue;
      const t: Task = { name: r.task_name, sleep: r.sleep_time ?? 0, state: r.state, worker: r.worker, assignTime: r.assign_time, conn: null };
      this.tasks.set(t.name, t);
      this.remaining++;
      if (t.state !== TaskState.Running) this.queue.push(t);
    }
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const conn: Conn = { id: this.nextConnId++, socket, reader: new FrameReader(MIN_REPORT_FRAME), workerId: null, task: null, parked: false, closed: false };
    this.conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      if (conn.closed) return;
      try {
        for (const body of conn.reader.push(chunk)) {
          this.onReport(conn, decodeReport(body));
          if (conn.closed) return;
        }
      } catch (err) {
        this.o.log(`connection ${conn.id}${conn.workerId ? ` (${conn.workerId})` : ''}: ${(err as Error).message}; closing it`);
        socket.destroy();
        this.onClose(conn);
      }
    });
    socket.on('error', (err) => this.o.log(`connection ${conn.id}: ${err.message}`));
    socket.on('close', () => this.onClose(conn));
  }

  private onReport(conn: Conn, r: WorkerReport): void {
    if (conn.workerId === null) this.o.log(`worker ${r.workerId} connected (connection ${conn.id}) reporting '${r.taskName}' with ${r.timeLeft} s left`);
    conn.workerId = r.workerId;
    const now = unixNow();
    if (r.taskName === '') return this.dispatch(conn);
    const t = this.tasks.get(r.taskName);
    if (r.timeLeft > 0) {
      // A worker that (re)connects in the middle of a task keeps it.
      if (!t || t.state === TaskState.Success) return;
      if (!(t.state === TaskState.Running && t.worker === r.workerId && t.assignTime !== null)) {
        t.assignTime = now - Math.max(0, t.sleep - r.timeLeft);
        this.db.assign(t.name, r.workerId, t.assignTime);
      }
      t.state = TaskState.Running;
      t.worker = r.workerId;
      t.conn = conn;
      conn.task = t;
      conn.parked = false;
      return;
    }
    if (t && t.state !== TaskState.Success) {
      t.state = TaskState.Success;
      t.conn = null;
      this.remaining--;
      this.doneNow++;
      this.db.complete(t.name, r.workerId, now);
    } else if (!t) {
      this.o.log(`worker ${r.workerId} reported unknown task '${r.taskName}' done; ignored`);
    }
    if (conn.task === t) conn.task = null;
    this.dispatch(conn);
  }

  private nextTask(): Task | undefined {
    while (this.qhead < this.queue.length) {
      const t = this.queue[this.qhead++];
      if ((t.state === TaskState.Created || t.state === TaskState.Killed) && t.conn === null) return t;
    }
    if (this.qhead > 0) {
      this.queue = [];
      this.qhead = 0;
    }
    return undefined;
  }

  private dispatch(conn: Conn): void {
    if (conn.closed || this.finishing) return;
    const t = this.nextTask();
    if (t) {
      t.state = TaskState.Running;
      t.worker = conn.workerId;
      t.assignTime = unixNow();
      t.conn = conn;
      conn.task = t;
      conn.parked = false;
      this.db.assign(t.name, conn.workerId as string, t.assignTime);
      conn.socket.write(encodeAssignment({ taskName: t.name, sleepTime: t.sleep }));
      return;
    }
    if (this.remaining > 0) {
      conn.parked = true; // others are still running; one of theirs may come back
      return;
    }
    conn.parked = false;
    conn.socket.write(EXIT_FRAME);
    this.finishIfDone();
  }

  private dispatchParked(): void {
    for (const c of this.conns) if (c.parked) this.dispatch(c);
  }

  private onClose(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    this.conns.delete(conn);
    const t = conn.task;
    conn.task = null;
    if (t && t.conn === conn && t.state === TaskState.Running) {
      this.o.log(`worker ${conn.workerId} lost with task ${t.name}; marked TaskKilled`);
      this.killTask(t);
      this.dispatchParked();
    }
  }

  private killTask(t: Task): void {
    t.state = TaskState.Killed;
    t.conn = null;
    this.db.kill(t.name);
    this.queue.push(t);
  }

  private tick(): void {
    if (this.finishing) return;
    if (fileIdentity(this.o.dbFile) !== this.identity) {
      this.o.log(`task database ${this.o.dbFile} was removed or replaced; telling ${this.conns.size} workers to exit`);
      void this.finish(1, true);
      return;
    }
    try {
      this.db.flush();
      this.reload();
    } catch (err) {
      this.o.log(`database error: ${(err as Error).message}`);
    }
    const now = unixNow();
    for (const t of this.tasks.values()) {
      if (t.state !== TaskState.Running || t.assignTime === null || now - t.assignTime <= t.sleep + this.o.marginSec) continue;
      this.o.log(`task ${t.name} (sleep ${t.sleep} s) running for ${now - t.assignTime} s on ${t.worker}: slacker; marked TaskKilled`);
      const c = t.conn;
      this.killTask(t);
      if (c) {
        c.task = null;
        c.parked = false;
        c.socket.end(EXIT_FRAME);
        c.closed = true;
        this.conns.delete(c);
      }
    }
    this.dispatchParked();
    this.finishIfDone();
  }

  private finishIfDone(): void {
    if (this.remaining > 0 || this.finishing) return;
    this.db.flush();
    this.reload(); // tasks added since the last interval are work too
    if (this.remaining > 0) return this.dispatchParked();
    this.o.log(`all tasks done (${this.doneNow} this run); exiting`);
    void this.finish(0, true);
  }

  private async finish(code: number, tellWorkers: boolean): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    clearInterval(this.timer);
    this.feedback.stop();
    this.server?.close();
    const closing = [...this.conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.destroyed) return resolve();
          c.socket.once('close', () => resolve());
          if (tellWorkers) c.socket.end(EXIT_FRAME);
          else c.socket.destroy();
        }),
    );
    try {
      this.db.close();
    } catch (err) {
      this.o.log(`closing the database: ${(err as Error).message}`);
    }
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.resolveRun(code);
  }
}
