import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import compress from '@fastify/compress';
import { ExitError, EXIT } from '../errors';
import type { Registry } from '../db/registry';
import { historyEntry } from '../control/entries';
import { feedbackOf } from '../control/lookup';
import { entriesOf } from '../control/list';
import { killTask } from '../control/kill';
import { healPools, poolEntries } from '../control/pools';
import { deletePool, MAX_INSTANCES, POOL_NAME, scalePool } from '../control/scale';
import { Feed, type FeedEvent } from './feed';
import { allowedHosts, refuse, type GuardConfig } from './guard';

// control --serve: the JSON API under /api and the page at /, from one process, over the registry
// (which stays the only truth: launch, kill and history work the same without it).

export const BODY_LIMIT = 16 * 1024;
const MAX_UNREAD = 4 * 1024 * 1024;
/** An SSE comment this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 25_000;

export interface ServerOptions {
  reg: Registry;
  host: string;
  port: number;
  token: string;
  launchBin: string;
  /** Where the page's built files are (dist/web). */
  webDir: string;
}

export interface Served {
  app: FastifyInstance;
  url: string;
  port: number;
  feed: Feed;
  close: () => Promise<void>;
}

/** A sentence for the client, with the HTTP status it goes with. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ID = { type: 'string', pattern: '^[0-9]{1,12}$' } as const;
const POOL = { type: 'string', pattern: POOL_NAME.source } as const;
const OUTCOMES = ['exited', 'signaled', 'timeout', 'killed', 'lost', 'failed_to_start'];

/** The page's files, read once; each named by its content's hash so a browser may keep it for good. */
function loadPage(webDir: string): { html: string; etag: string; assets: Map<string, { body: Buffer; type: string }> } {
  const assets = new Map<string, { body: Buffer; type: string }>();
  const names: Record<string, string> = {};
  for (const [file, type] of [['app.js', 'text/javascript; charset=utf-8'], ['app.css', 'text/css; charset=utf-8']] as const) {
    const path = join(webDir, file);
    const body = existsSync(path) ? readFileSync(path) : Buffer.from('');
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const [base, ext] = file.split('.');
    names[file] = `/assets/${base}.${hash}.${ext}`;
    assets.set(names[file], { body, type });
  }
  const template = existsSync(join(webDir, 'index.html')) ? readFileSync(join(webDir, 'index.html'), 'utf8') : '<!doctype html><title>taskwatch</title><p>The page was not built: run npm run build.';
  const html = template.replace('%APP_JS%', names['app.js']).replace('%APP_CSS%', names['app.css']);
  return { html, etag: `"${createHash('sha256').update(html).digest('hex').slice(0, 16)}"`, assets };
}

export async function startServer(o: ServerOptions): Promise<Served> {
  const { reg } = o;
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false, return503OnClosing: true, forceCloseConnections: true });
  const feed = new Feed(reg);
  const page = loadPage(o.webDir);
  const guard: GuardConfig = { host: o.host, port: o.port, token: o.token };
  let hosts: Set<string> | null = null;

  await app.register(compress, { global: true, threshold: 1024 });

  app.addHook('onRequest', async (req, reply) => {
    const q = req.query as { token?: unknown } | undefined;
    const r = refuse({ method: req.method, path: req.url.split('?')[0], headers: req.headers, queryToken: typeof q?.token === 'string' ? q.token : undefined }, guard, hosts);
    if (r) return reply.code(r.status).send({ error: r.error });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof ExitError) return reply.code(err.exitCode === EXIT.refused ? 409 : 500).send({ error: err.message });
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(400).send({ error: `the request body is larger than ${BODY_LIMIT / 1024} KiB` });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(400).send({ error: 'send the body as application/json' });
    if (err.validation) return reply.code(400).send({ error: `bad request: ${err.message}` });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const what = err instanceof SyntaxError || /JSON/.test(err.message) ? `the body is not valid JSON (${err.message})` : err.message;
      return reply.code(err.statusCode === 413 ? 400 : err.statusCode).send({ error: what });
    }
    return reply.code(500).send({ error: `the server could not do it: ${err.message}` });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `nothing here: ${req.method} ${req.url.split('?')[0]}` }));

  // The page.
  app.get('/', async (req, reply) => {
    reply.header('cache-control', 'no-cache').header('etag', page.etag).header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'").header('x-content-type-options', 'nosniff');
    if (req.headers['if-none-match'] === page.etag) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(page.html);
  });
  app.get('/assets/:file', async (req, reply) => {
    const a = page.assets.get(req.url.split('?')[0]);
    if (!a) throw new HttpError(404, `no such asset: ${req.url}`);
    return reply.type(a.type).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').send(a.body);
  });

  // Tasks.
  // From the rows the feed last read (it reads again on every change of the registry), derived now.
  app.get('/api/tasks', async () => feed.entries());
  app.get('/api/tasks/:id', { schema: { params: { type: 'object', properties: { id: ID }, required: ['id'] } } }, async (req) => {
    const id = Number((req.params as { id: string }).id);
    const row = reg.task(id); // this one row read now: a task launched a moment ago is found
    const live = row ? (entriesOf([row], Date.now())[0] ?? null) : null;
    const ended = live ? null : reg.historyOf(id);
    if (!live && !ended) throw new HttpError(404, `there is no task ${id}`);
    let feedback: Record<string, unknown> = {};
    try {
      feedback = feedbackOf(reg, id);
    } catch {
      /* reserved, or launched without --feedpath: no feedback */
    }
    return { task: live, ended: ended ? historyEntry(ended) : null, feedback };
  });
  app.post('/api/tasks/:id/kill', {
    schema: {
      params: { type: 'object', properties: { id: ID }, required: ['id'] },
      body: { type: ['object', 'null'], properties: { grace: { type: 'number', minimum: 0, maximum: 86400 } }, additionalProperties: false },
    },
  }, async (req) => {
    const id = Number((req.params as { id: string }).id);
    if (!reg.task(id)) {
      if (reg.historyOf(id)) throw new HttpError(409, `task ${id} has already ended; nothing to kill`);
      throw new HttpError(404, `there is no task ${id}`);
    }
    const grace = (req.body as { grace?: number } | null)?.grace;
    return killTask(reg, id, grace);
  });

  // History: newest first, a page at a time.
  app.get('/api/history', {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          offset: { type: 'integer', minimum: 0, maximum: 1e9, default: 0 },
          name: { type: 'string', maxLength: 256 },
          outcome: { type: 'string', enum: OUTCOMES },
          token: { type: 'string' },
        },
        additionalProperties: false,
      },
    },
  }, async (req) => {
    const q = req.query as { limit: number; offset: number; name?: string; outcome?: string };
    const filter = { name: q.name || undefined, outcome: q.outcome };
    return { total: reg.historyCount(filter), offset: q.offset, limit: q.limit, rows: reg.history({ ...filter, limit: q.limit, offset: q.offset }).map(historyEntry) };
  });

  // Pools: listed (and, like every control call that reads them, kept supervised), rescaled, stopped.
  app.get('/api/pools', async () => {
    healPools(reg, o.launchBin);
    return poolEntries(reg);
  });
  const scale = async (name: string, desired: number) => {
    if (!reg.pool(name)) throw new HttpError(404, `there is no pool ${name}`);
    try {
      return await scalePool(reg, name, desired, o.launchBin);
    } catch (err) {
      const partial = (err as { result?: unknown }).result;
      if (partial) throw new HttpError(504, (err as Error).message);
      throw err;
    }
  };
  const poolParams = { type: 'object', properties: { name: POOL }, required: ['name'] } as const;
  app.post('/api/pools/:name/scale', {
    schema: { params: poolParams, body: { type: 'object', properties: { desired: { type: 'integer', minimum: 0, maximum: MAX_INSTANCES } }, required: ['desired'], additionalProperties: false } },
  }, async (req) => scale((req.params as { name: string }).name, (req.body as { desired: number }).desired));
  // workerpoolmanager's route for the same.
  app.post('/api/pools/:name/set/cardinality/:n', {
    schema: { params: { type: 'object', properties: { name: POOL, n: { type: 'string', pattern: '^[0-9]{1,5}$' } }, required: ['name', 'n'] } },
  }, async (req) => {
    const p = req.params as { name: string; n: string };
    if (Number(p.n) > MAX_INSTANCES) throw new HttpError(400, `a pool has at most ${MAX_INSTANCES} instances`);
    return scale(p.name, Number(p.n));
  });
  app.delete('/api/pools/:name', { schema: { params: poolParams } }, async (req) => {
    const name = (req.params as { name: string }).name;
    if (!reg.pool(name)) throw new HttpError(404, `there is no pool ${name}`);
    await deletePool(reg, name, o.launchBin);
    return { deleted: name };
  });

  // Every change, as it happens: a snapshot first, then events (Server-Sent Events).
  app.get('/api/events', (req: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // A client that does not read would make the server buffer without end: past 4 MiB unread it is
    // dropped, and its EventSource reconnects to a fresh snapshot.
    const send = (type: string, data: unknown) => {
      if (res.writableLength > MAX_UNREAD) return void res.destroy();
      res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    send('snapshot', { now: Date.now() / 1000, ...feed.snapshot() });
    const unsubscribe = feed.subscribe((e: FeedEvent) => send(e.type, { now: Date.now() / 1000, ...e }));
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    req.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
  });

  feed.start();
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  guard.port = port;
  hosts = allowedHosts(guard);
  const shown = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    app,
    port,
    feed,
    url: `http://${shown}:${port}/?token=${o.token}`,
    close: async () => {
      feed.stop();
      await app.close();
    },
  };
}
