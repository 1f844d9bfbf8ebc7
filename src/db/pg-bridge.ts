import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { RegistryError } from './errors';

// A synchronous PostgreSQL connection. A worker thread (pg-worker.ts) holds the connection; this
// thread posts one operation and sleeps on a shared flag until the answer comes back, with a
// deadline. Callers keep the order of writes they have with better-sqlite3, and notifications
// (LISTEN) arrive as events, between operations.

/** The URL without its password: what messages name. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/**
 * The worker's file: the build's one-file bundle of it with node-postgres (which loads in a fraction
 * of the time of pg's forty modules), else tsc's; beside this file, or (from the bundled launch in
 * dist/bin) in dist/src/db.
 */
function workerFile(): string {
  const dirs = [__dirname, join(__dirname, '..', 'src', 'db')];
  for (const f of dirs.flatMap((d) => [join(d, 'pg-worker.bundle.js'), join(d, 'pg-worker.js')])) if (existsSync(f)) return f;
  throw new RegistryError('the PostgreSQL client is not built (no pg-worker.js); run npm run build', 'PG_ERROR');
}

interface Reply {
  seq: number;
  ok?: unknown;
  err?: { code: string; message: string };
}

export type PgFailure = { code: string; message: string };

/**
 * A failure the worker reports, in a sentence about the server at `where`: the caller's own words
 * for its own codes (`own`), else the ones every user of a connection shares.
 */
export function pgError(where: string, e: PgFailure, own: (e: PgFailure) => string | undefined = () => undefined): RegistryError {
  const why = own(e) ?? (() => {
    switch (e.code) {
      case 'PG_UNREACHABLE':
        return `cannot reach PostgreSQL at ${where}: ${e.message}`;
      case 'PG_NODB':
        return `PostgreSQL at ${where} has no such database (${e.message}); create it first (createdb)`;
      case 'PG_AUTH':
        return `PostgreSQL at ${where} refused the login: ${e.message}`;
      case 'PG_BUSY':
        return `${where}: a row stayed locked by another writer for longer than the lock timeout; try again`;
      default:
        return `database error on ${where}: ${e.message}`;
    }
  })();
  return new RegistryError(why, e.code);
}

export class PgBridge {
  readonly where: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private seq = 0;
  private closed = false;
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private waitMs: number;

  constructor(
    readonly url: string,
    /** Turns a failure the worker reports into the error a caller throws (its user may set another). */
    public error: (e: PgFailure) => Error = (e) => pgError(maskUrl(url), e),
    /** How long a lock may be waited for; the call's own deadline is this plus time to (re)connect. */
    lockMs = 15_000,
  ) {
    this.where = maskUrl(url);
    this.waitMs = lockMs;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.port.unref(); // answers are taken by receiveMessageOnPort; the port must not keep the process alive
    this.worker = new Worker(workerFile(), { workerData: { url, port: port2, flag: this.flag }, transferList: [port2] });
    this.worker.on('message', (m: { channel: string; payload: string }) => {
      for (const f of this.listeners.get(m.channel) ?? []) f(m.payload);
    });
    this.worker.on('error', () => {});
    this.worker.unref(); // after the listeners, which ref it: only a LISTEN keeps the process alive for the connection's sake
    if (lockMs !== 15_000) this.call('setLockTimeout', lockMs);
  }

  /** One operation on the worker, waited for: its answer, or the caller's error for what failed. */
  call(op: string, ...args: unknown[]): unknown {
    if (this.closed) throw this.error({ code: 'PG_ERROR', message: 'the connection is closed' });
    const seq = ++this.seq;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ seq, op, args });
    const budget = Math.max(0, this.waitMs) + 6000;
    const deadline = Date.now() + budget;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw this.error({ code: 'PG_UNREACHABLE', message: `no answer within ${Math.round(budget / 1000)} s` });
      Atomics.wait(this.flag, 0, 0, left);
      let m: { message: Reply } | undefined;
      while ((m = receiveMessageOnPort(this.port) as { message: Reply } | undefined)) {
        if (m.message.seq !== seq) continue; // the late answer to a call that already gave up
        if (m.message.err) throw this.error(m.message.err);
        return m.message.ok;
      }
      Atomics.store(this.flag, 0, 0);
    }
  }

  setLockTimeout(ms: number): void {
    this.waitMs = ms;
    this.call('setLockTimeout', ms);
  }

  /** Calls `f` with each NOTIFY on `channel`; returns what stops it. */
  listen(channel: string, f: (payload: string) => void): () => void {
    let set = this.listeners.get(channel);
    if (!set) this.listeners.set(channel, (set = new Set()));
    set.add(f);
    if (set.size === 1) this.call('listen', channel, true);
    this.worker.ref();
    return () => {
      if (!set.delete(f)) return;
      if (set.size === 0 && !this.closed) {
        try {
          this.call('listen', channel, false);
        } catch {
          /* nothing more to hear either way */
        }
      }
      if ([...this.listeners.values()].every((s) => s.size === 0)) this.worker.unref();
    };
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call('close');
    } catch {
      /* the connection is gone either way */
    }
    this.closed = true;
    void this.worker.terminate();
  }
}
