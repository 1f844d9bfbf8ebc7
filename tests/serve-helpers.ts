// A real `control --serve` for tests: started on a free port against a registry, its URL and token read
// from what it prints, stopped (and checked to exit 0) at the end.
import * as http from 'node:http';
import * as path from 'node:path';
import { bin, start, tmpdir, tw, waitFor } from './helpers';

export interface Server {
  dir: string;
  t: ReturnType<typeof tw>;
  port: number;
  token: string;
  base: string;
  stop: () => Promise<number | null>;
}

/** `db`: a file (by default in `dir`) or a postgres:// URL. */
export async function serve(extra: string[] = [], dir = tmpdir(), db = path.join(dir, 'tw.db')): Promise<Server> {
  const t = tw(db);
  await t.control('--reserve', '--name', 'seed'); // a registry to serve (a reservation, released below)
  const env = { ...t.env, XDG_STATE_HOME: path.join(dir, 'state') };
  const p = start(process.execPath, [bin('control'), '--serve', '--port', '0', ...extra], env, { timeoutMs: 300_000 });
  const m = await waitFor(() => /open http:\/\/[^:]+:(\d+)\/\?token=([A-Za-z0-9_-]+)/.exec(p.stdoutSoFar()), 15_000, `the server's URL (it said: ${p.stderrSoFar()})`);
  await t.control('--release', '1');
  const port = Number(m[1]);
  return {
    dir,
    t,
    port,
    token: m[2],
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      p.kill('SIGTERM');
      return p.exited;
    },
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request with exactly the headers given (fetch would add and forbid some). */
export function request(s: Server, method: string, p: string, o: { headers?: Record<string, string>; body?: string | Buffer; token?: boolean } = {}): Promise<Answer> {
  const headers: Record<string, string> = { host: `127.0.0.1:${s.port}`, ...o.headers };
  if (o.token) headers.authorization = `Bearer ${s.token}`;
  if (o.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, method, path: p, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

/** Opens the Server-Sent Events stream, keeping every event, until closed; resolves once its snapshot is in. */
export async function events(s: Server): Promise<{ seen: Array<{ type: string; data: any }>; close: () => void }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const seen: Array<{ type: string; data: any }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  let buf = '';
  const req = http.get({ host: '127.0.0.1', port: s.port, path: '/api/events', headers: { host: `127.0.0.1:${s.port}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buf += c;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type && data) seen.push({ type, data: JSON.parse(data) });
      }
    });
  });
  req.on('error', () => {});
  const close = () => req.destroy();
  try {
    await waitFor(() => seen.some((e) => e.type === 'snapshot'), 15_000, 'the snapshot');
  } catch (err) {
    close();
    throw err;
  }
  return { seen, close };
}
