import * as net from 'node:net';
import { decodeAssignment, encodeReport, FrameReader, MIN_ASSIGNMENT_FRAME, NameTooLong } from './frame';
import { FeedbackWriter } from './heartbeat';

/**
 * Every read lands here and is decoded before the next (Node's `onread`: no stream machinery, no
 * new Buffer per read). FrameReader copies out a partial frame, so nothing keeps a view of it.
 */
const READ_BUFFER = Buffer.alloc(4096);

export interface WorkerOptions {
  host: string;
  port: number;
  workerId: string;
  slacker: boolean;
  slackSec: number;
  feedback?: string;
  log: (msg: string) => void;
  retryMs?: number;
}

interface Current {
  name: string;
  endAt: number;
  /** Pending completion; undefined once the task is done. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * A task worker of epoll_demo. It keeps its own clock for the task in hand, so a controller that
 * goes away and comes back does not disturb its timing: it reconnects every second and reports
 * (id, task, seconds left), or (id, task, 0) if it finished while the controller was away. A
 * finished task is reported again on every reconnection until the controller answers (with the
 * next task, or exit): a controller killed before it recorded the completion learns it anew, and
 * never gives the task to someone else.
 */
export class Worker {
  private current: Current | null = null;
  private socket: net.Socket | undefined;
  private connected = false;
  private exiting = false;
  private done = 0;
  private retry: NodeJS.Timeout | undefined;
  private resolveRun: (code: number) => void = () => {};
  private failure: string | null = null;
  private readonly feedback: FeedbackWriter;

  constructor(private readonly o: WorkerOptions) {
    this.feedback = new FeedbackWriter(o.feedback, () => ({
      role: 'worker',
      worker_id: o.workerId,
      current_task: this.current && this.current.timer !== undefined ? this.current.name : '',
      time_left: this.timeLeft(),
      tasks_done: this.done,
      connected: this.connected ? 'yes' : 'no',
    }), o.log);
  }

  run(): Promise<number> {
    return new Promise((resolve) => {
      this.resolveRun = resolve;
      this.feedback.start();
      this.connect();
    });
  }

  private timeLeft(): number {
    return this.current ? Math.max(0, Math.ceil((this.current.endAt - Date.now()) / 1000)) : 0;
  }

  private connect(): void {
    if (this.exiting) return;
    const reader = new FrameReader(MIN_ASSIGNMENT_FRAME);
    const onread = { buffer: READ_BUFFER, callback: (n: number) => this.onData(socket, reader, READ_BUFFER.subarray(0, n)) };
    const socket: net.Socket = net.connect({ host: this.o.host, port: this.o.port, onread });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connected = true;
      const left = this.timeLeft();
      this.o.log(`connected to ${this.o.host}:${this.o.port}; reporting '${this.current?.name ?? ''}' with ${left} s left`);
      this.send(this.current?.name ?? '', left);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNREFUSED') this.o.log(`connection: ${err.message}`);
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.connected = false;
      if (!this.exiting) this.retry = setTimeout(() => this.connect(), this.o.retryMs ?? 1000);
    });
  }

  /** What the controller sent; true: go on reading. */
  private onData(socket: net.Socket, reader: FrameReader, chunk: Buffer): boolean {
    try {
      for (const body of reader.push(chunk)) this.onAssignment(decodeAssignment(body));
    } catch (err) {
      if (err instanceof NameTooLong) {
        this.exit(`the controller sent ${err.message}; this worker cannot take it, and reconnecting would only get it again`);
      } else {
        this.o.log(`bad frame from the controller: ${(err as Error).message}; reconnecting`);
        socket.destroy();
      }
    }
    return true;
  }

  private send(taskName: string, timeLeft: number): void {
    this.socket?.write(encodeReport({ workerId: this.o.workerId, taskName, timeLeft }));
  }

  private onAssignment(a: { taskName: string; sleepTime: number }): void {
    // Any answer acknowledges the completion reported before it.
    if (this.current && this.current.timer === undefined) this.current = null;
    if (a.taskName === '') return this.exit();
    clearTimeout(this.current?.timer);
    const ms = (a.sleepTime + (this.o.slacker ? this.o.slackSec : 0)) * 1000;
    const cur: Current = { name: a.taskName, endAt: Date.now() + ms, timer: undefined };
    this.current = cur;
    // A zero-second task is done at once, in one log line: a busy fleet runs thousands a second.
    if (ms === 0) return this.finishTask(cur, ' at once (0 s)');
    this.o.log(`task ${a.taskName}: sleeping ${ms / 1000} s${this.o.slacker ? ' (slacker)' : ''}`);
    cur.timer = setTimeout(() => this.finishTask(cur), ms);
  }

  private finishTask(cur: Current, how = ''): void {
    cur.timer = undefined;
    this.done++;
    this.o.log(`task ${cur.name}: done${how}`);
    if (this.connected) this.send(cur.name, 0); // kept until answered; else reported on reconnecting
  }

  /** Told to exit (0), or unable to go on (1, with the sentence why). */
  private exit(failure?: string): void {
    this.o.log(failure ?? 'told to exit');
    this.failure = failure ?? null;
    this.exiting = true;
    clearTimeout(this.retry);
    clearTimeout(this.current?.timer);
    this.feedback.stop();
    this.socket?.end();
    this.resolveRun(failure ? 1 : 0);
  }

  /** Why the worker gave up, for its exit message. */
  get why(): string | null {
    return this.failure;
  }
}
