import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

// A throwaway PostgreSQL server for the tests: initdb and postgres from Debian's postgresql package
// into a temporary directory, a Unix socket there and a free 127.0.0.1 port, stopped and removed at
// the end. As root it runs as nobody, since PostgreSQL refuses to run as root.

/** The newest /usr/lib/postgresql/<version>/bin, else whatever pg_ctl PATH finds; null when there is none. */
export function postgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  try {
    const versions = fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(base, versions[0], 'bin');
  } catch {
    /* not Debian's layout */
  }
  const r = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  return r.status === 0 ? path.dirname(fs.realpathSync(r.stdout.trim())) : null;
}

/** Why the PostgreSQL tests cannot run here, or null. CI (.ci/run) installs the package, and sets TASKWATCH_REQUIRE_POSTGRES. */
export function postgresMissing(): string | null {
  return postgresBin() ? null : 'no PostgreSQL server binaries (Debian package postgresql); .ci/run installs them';
}

/** A pid that no longer runs (or a zombie not reaped yet: this process reaps only between turns). */
function gone(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PgServer {
  /** A URL for the maintenance database, over TCP on 127.0.0.1. */
  url: string;
  port: number;
  socketDir: string;
  /** A new, empty database and the URL of it. */
  createDb(name?: string): Promise<string>;
  /** A fast shutdown and a start again, waiting until it accepts connections. */
  restart(): void;
  /** Stops the server for a while (its data stays); `resume` starts it again. */
  pause(): void;
  resume(): void;
  /** Stops it for good and removes its directory. */
  stop(): void;
}

let counter = 0;

export interface PgOptions {
  maxConnections?: number;
  /** More addresses to listen on (a veth's, for a network namespace), beside 127.0.0.1. */
  listen?: string[];
  /** Networks whose clients are trusted (pg_hba), beside 127.0.0.1. */
  trust?: string[];
  /** Server-side TCP keepalive: how soon a peer that went silent is dropped (and its locks freed). */
  keepalive?: { idle: number; interval: number; count: number };
}

export async function startPostgres(o: PgOptions = {}): Promise<PgServer> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresMissing()!);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // As root: the directory goes to nobody, and every server command runs as nobody.
  const as = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--'] : [];
  if (asRoot) execFileSync('chown', ['nobody:nogroup', dir]);
  const run = (cmd: string, args: string[]) => {
    const argv = [...as, path.join(bin, cmd), ...args];
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}${r.stdout}`);
  };
  run('initdb', ['-D', data, '-U', 'taskwatch', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  if (o.trust?.length) fs.appendFileSync(path.join(data, 'pg_hba.conf'), o.trust.map((net) => `host all all ${net} trust\n`).join(''));
  const port = await freePort();
  const opts = [
    '-p', String(port), '-k', dir, '-c', `listen_addresses=${['127.0.0.1', ...(o.listen ?? [])].join(',')}`, '-c', `max_connections=${o.maxConnections ?? 300}`,
    ...(o.keepalive ? ['-c', `tcp_keepalives_idle=${o.keepalive.idle}`, '-c', `tcp_keepalives_interval=${o.keepalive.interval}`, '-c', `tcp_keepalives_count=${o.keepalive.count}`] : []),
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=32MB',
  ];
  // The server is this process's own child (not pg_ctl's daemon), and gets SIGQUIT (an immediate
  // shutdown) the moment this process dies, however it dies: no test run leaves a server behind.
  const prefix = [...(asRoot ? ['--reuid=nobody', '--regid=nogroup', '--clear-groups'] : []), '--pdeathsig', 'QUIT', '--'];
  const log = path.join(dir, 'log');
  let server: ChildProcess | null = null;
  const up = () => {
    const out = fs.openSync(log, 'a');
    server = spawn('setpriv', [...prefix, path.join(bin, 'postgres'), '-D', data, ...opts], { cwd: dir, stdio: ['ignore', out, out], env: { ...process.env, LC_ALL: 'C' } });
    fs.closeSync(out);
    server.on('error', () => {});
    server.unref();
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (spawnSync(path.join(bin, 'pg_isready'), ['-q', '-h', dir, '-p', String(port)]).status === 0) return;
      if (server.pid === undefined || gone(server.pid) || Date.now() > deadline) throw new Error(`postgres did not start: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  };
  /** SIGINT: a fast shutdown (clients cut, a clean stop); SIGQUIT: an immediate one. Waits until the server is gone. */
  const down = (sig: NodeJS.Signals) => {
    const pid = server?.pid;
    if (pid === undefined || gone(pid)) return;
    process.kill(pid, sig);
    const deadline = Date.now() + 60_000;
    while (!gone(pid) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  };
  up();
  const url = `postgresql://taskwatch@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    down('SIGQUIT');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  return {
    url,
    port,
    socketDir: dir,
    async createDb(name = `t${process.pid}_${++counter}`) {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgresql://taskwatch@127.0.0.1:${port}/${name}`;
    },
    restart() {
      down('SIGINT');
      up();
    },
    pause() {
      down('SIGINT');
    },
    resume() {
      up();
    },
    stop,
  };
}
