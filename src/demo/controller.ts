import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { decodeReport, encodeAssignment, FrameReader, MAX_TASK_NAME_BYTES, MIN_REPORT_FRAME, NameTooLong, type WorkerReport } from './frame';
import { TaskState, unixNow, type TaskStore } from './taskdb';
import { FeedbackWriter } from './heartbeat';

export interface ControllerOptions {
  host: string;
  port: number;
  intervalSec: number;
  marginSec: number;
  /** Seconds a connection may stay without saying who it is (default 10). */
  helloTimeoutSec?: number;
  feedback?: string;
  log: (msg: string) => void;
}

/** At most this many connections may be waiting to say hello: idle sockets cannot use up the descriptors. */
export const MAX_PENDING_HELLOS = 128;

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
  /** The exit frame went out: it is sent once. */
  exitSent: boolean;
  /** Closes the connection if it has not said hello in time. */
  helloTimer: NodeJS.Timeout | undefined;
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
  private pendingHellos = 0;
  private readonly warned = new Set<string>();
  private finishing = false;
  private resolveRun: (code: number) => void = () => {};
  private readonly feedback: FeedbackWriter;
  port = 0;

  constructor(
    private readonly o: ControllerOptions,
    private readonly db: TaskStore,
  ) {
    this.port = o.port;
    this.feedback = new FeedbackWriter(o.feedback, () => this.snapshot(), o.log);
    db.onError = (err) => o.log(`database write failed (will retry): ${err.message}`);
  }

  /** Resolves with the exit status once the controller is done. */
  run(): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.resolveRun = resolve;
      this.identity = this.db.identity();
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
      // Below the descriptor limit, so that the database and the feedback file always have some.
      server.maxConnections = Math.max(16, openFilesLimit() - 64);
      let listening = false;
      server.on('error', (err: NodeJS.ErrnoException) => {
        if (listening) return this.o.log(`accepting a connection failed: ${err.message}`); // e.g. EMFILE: the server goes on
        this.db.close();
        reject(err);
      });
      server.listen(this.o.port, this.o.host, () => {
        listening = true;
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

  /** Says a thing once per key, however often it happens (a peer may repeat it forever). */
  private once(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.o.log(msg);
  }

  private reload(): void {
    for (const r of this.db.unfinished()) {
      if (this.tasks.has(r.task_name)) continue;
      if (Buffer.byteLength(r.task_name) > MAX_TASK_NAME_BYTES) {
        this.once(`name:${r.task_name}`, `task '${r.task_name}' has a name of ${Buffer.byteLength(r.task_name)} bytes, more than the ${MAX_TASK_NAME_BYTES} a worker accepts; it is not dispatched`);
        continue;
      }
      const t: Task = { name: r.task_name, sleep: r.sleep_time ?? 0, state: r.state, worker: r.worker || null, assignTime: r.assign_time, conn: null };
      this.tasks.set(t.name, t);
      this.remaining++;
      if (t.state !== TaskState.Running) this.queue.push(t);
    }
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (this.pendingHellos >= MAX_PENDING_HELLOS) {
      this.once('pending', `${MAX_PENDING_HELLOS} connections are waiting to say hello; closing new ones until they do or time out`);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const conn: Conn = {
      id: this.nextConnId++, socket, reader: new FrameReader(MIN_REPORT_FRAME), workerId: null, task: null, parked: false, closed: false, exitSent: false,
      helloTimer: undefined,
    };
    this.pendingHellos++;
    conn.helloTimer = setTimeout(() => {
      this.o.log(`connection ${conn.id} said nothing for ${this.o.helloTimeoutSec ?? 10} s; closing it`);
      socket.destroy();
      this.onClose(conn);
    }, (this.o.helloTimeoutSec ?? 10) * 1000);
    this.conns.add(conn);
    socket.on('data', (chunk: Buffer) => {
      if (conn.closed) return;
      try {
        for (const body of conn.reader.push(chunk)) {
          this.onReport(conn, decodeReport(body));
          if (conn.closed) return;
        }
      } catch (err) {
        const msg = `connection ${conn.id}${conn.workerId ? ` (${conn.workerId})` : ''}: ${(err as Error).message}; closing it`;
        if (err instanceof NameTooLong) this.once(`long:${conn.socket.remoteAddress}`, msg);
        else this.o.log(msg);
        socket.destroy();
        this.onClose(conn);
      }
    });
    socket.on('error', (err) => this.o.log(`connection ${conn.id}: ${err.message}`));
    socket.on('close', () => this.onClose(conn));
  }

  private onReport(conn: Conn, r: WorkerReport): void {
    if (conn.workerId === null) {
      this.o.log(`worker ${r.workerId} connected (connection ${conn.id}) reporting '${r.taskName}' with ${r.timeLeft} s left`);
      this.helloed(conn);
      conn.workerId = r.workerId;
      this.takeBackLost(r.workerId, r.taskName);
    }
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

  private helloed(conn: Conn): void {
    if (conn.helloTimer === undefined) return;
    clearTimeout(conn.helloTimer);
    conn.helloTimer = undefined;
    this.pendingHellos--;
  }

  /**
   * A worker that says hello is working on the task it reports and on no other: a task the
   * database still gives it, with no connection of its to show for it, never reached it (the
   * controller died between recording and sending) and is taken back now, not at the slacker check.
   */
  private takeBackLost(workerId: string, reported: string): void {
    let n = 0;
    for (const t of this.tasks.values()) {
      if (t.state !== TaskState.Running || t.worker !== workerId || t.conn !== null || t.name === reported) continue;
      this.killTask(t);
      n++;
    }
    if (n > 0) {
      this.o.log(`worker ${workerId} does not have ${n} task${n === 1 ? '' : 's'} recorded as its own; marked TaskKilled for another`);
      this.dispatchParked();
    }
  }

  /** The exit frame, once per connection. */
  private tellExit(conn: Conn, end = false): void {
    if (conn.exitSent || conn.socket.destroyed) return;
    conn.exitSent = true;
    if (end) conn.socket.end(EXIT_FRAME);
    else conn.socket.write(EXIT_FRAME);
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
      const claim = this.db.claim(t.name, conn.workerId as string, t.assignTime);
      const frame = encodeAssignment({ taskName: t.name, sleepTime: t.sleep });
      this.db.afterCommit(() => {
        if (claim.ok) {
          if (!conn.closed) conn.socket.write(frame);
          return;
        }
        // Another controller sharing the table took it first: it is theirs, and this worker gets another.
        if (this.tasks.get(t.name) === t) {
          this.tasks.delete(t.name);
          this.remaining--;
        }
        if (t.conn === conn) t.conn = null;
        if (conn.task === t) conn.task = null;
        this.dispatch(conn);
      });
      return;
    }
    if (this.remaining > 0) {
      conn.parked = true; // others are still running; one of theirs may come back
      return;
    }
    conn.parked = false;
    this.db.afterCommit(() => this.tellExit(conn)); // after the completion it answers is recorded
    this.finishIfDone();
  }

  private dispatchParked(): void {
    for (const c of this.conns) if (c.parked) this.dispatch(c);
  }

  private onClose(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    this.helloed(conn);
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
    let identity: string | null;
    try {
      identity = this.db.identity();
    } catch (err) {
      identity = this.identity; // unreachable for now (a server restarting): not the same as removed
      this.o.log(`database error: ${(err as Error).message}`);
    }
    if (identity !== this.identity) {
      this.o.log(`task database ${this.db.where} was removed or replaced; telling ${this.conns.size} workers to exit`);
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
        this.tellExit(c, true);
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
    try {
      this.db.close(); // commits what is queued, and sends what waited for it, before anyone is told to exit
    } catch (err) {
      this.o.log(`closing the database: ${(err as Error).message}`);
    }
    const closing = [...this.conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.destroyed) return resolve();
          c.socket.once('close', () => resolve());
          if (!tellWorkers) c.socket.destroy();
          else if (c.exitSent) c.socket.end();
          else this.tellExit(c, true);
        }),
    );
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.resolveRun(code);
  }
}

/** The soft limit on open files, from /proc (Node has no getrlimit). */
function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    /* not Linux */
  }
  return 1024;
}
