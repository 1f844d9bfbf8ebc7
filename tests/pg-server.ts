import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

// A throwaway PostgreSQL server for the tests: initdb and pg_ctl from Debian's postgresql package
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
  /** pg_ctl restart, waiting until it accepts connections again. */
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
    `-p ${port}`, `-k ${dir}`, `-c listen_addresses=${['127.0.0.1', ...(o.listen ?? [])].join(',')}`, `-c max_connections=${o.maxConnections ?? 300}`,
    ...(o.keepalive ? [`-c tcp_keepalives_idle=${o.keepalive.idle}`, `-c tcp_keepalives_interval=${o.keepalive.interval}`, `-c tcp_keepalives_count=${o.keepalive.count}`] : []),
    '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c shared_buffers=32MB',
  ].join(' ');
  run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  const url = `postgresql://taskwatch@127.0.0.1:${port}/postgres`;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* already down */
    }
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
      run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-m', 'fast', '-w', '-t', '60', 'restart']);
    },
    pause() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    resume() {
      run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
    },
    stop,
  };
}
