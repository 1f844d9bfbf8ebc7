// control --serve's API, over real HTTP, against a real registry with real launched tasks.
import { eachBackend } from './backends';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { alive, bin, fixture, run, waitFor } from './helpers';
import { events, request, serve } from './serve-helpers';

eachBackend('the API lists tasks, shows one with its feedback, kills one (it dies and is archived), and pages history', async (f, ctx) => {
  const s = await serve([], f.dir, f.db);
  ctx.after(() => s.stop());
  const feed = path.join(s.dir, 'feed');
  fs.mkdirSync(feed);
  const beating = s.t.startLaunch('--name', 'beating', '--feedpath', feed, '--timeout', '30', '--', 'sh', '-c', 'while :; do echo "[progress]40" > "$TASKWATCH_FEEDBACK"; sleep 0.5; done');
  ctx.after(() => beating.kill('SIGTERM'));
  for (let i = 0; i < 7; i++) assert.equal((await s.t.launch('--name', i % 2 ? 'odd' : 'even', '--', 'sh', '-c', `exit ${i % 3}`)).code, i % 3);

  const list = await waitFor(async () => {
    const r = await request(s, 'GET', '/api/tasks');
    assert.equal(r.status, 200);
    const tasks = r.json() as Array<{ taskid: number; name: string; pid: number | null; status: string }>;
    return tasks.find((x) => x.name === 'beating' && x.pid) && tasks;
  }, 15_000, 'the task in /api/tasks');
  const task = list.find((x) => x.name === 'beating')!;
  assert.equal(task.status, 'RUNNING');

  const one = await waitFor(async () => {
    const r = (await request(s, 'GET', `/api/tasks/${task.taskid}`)).json();
    return r.feedback.progress === '40' && r;
  }, 15_000, 'its feedback');
  assert.equal(one.task.taskid, task.taskid);
  assert.equal(one.ended, null);

  const kill = await request(s, 'POST', `/api/tasks/${task.taskid}/kill`, { token: true, body: JSON.stringify({ grace: 2 }) });
  assert.equal(kill.status, 200, kill.body);
  assert.equal(kill.json().state, 'archived');
  await waitFor(() => !alive(task.pid!), 15_000, 'the task to die');
  const ended = (await request(s, 'GET', `/api/tasks/${task.taskid}`)).json();
  assert.equal(ended.task, null);
  assert.equal(ended.ended.outcome, 'killed');
  assert.equal((await request(s, 'POST', `/api/tasks/${task.taskid}/kill`, { token: true })).status, 409);

  // History: 8 rows, newest first, a page at a time, filtered by name and outcome.
  const page1 = (await request(s, 'GET', '/api/history?limit=3')).json();
  assert.equal(page1.total, 8);
  assert.deepEqual(page1.rows.map((r: { name: string }) => r.name), ['beating', 'even', 'odd']);
  const page3 = (await request(s, 'GET', '/api/history?limit=3&offset=6')).json();
  assert.equal(page3.rows.length, 2);
  const odd = (await request(s, 'GET', '/api/history?name=odd')).json();
  assert.equal(odd.total, 3);
  assert.ok(odd.rows.every((r: { name: string }) => r.name === 'odd'));
  const killed = (await request(s, 'GET', '/api/history?outcome=killed')).json();
  assert.deepEqual([killed.total, killed.rows[0].taskid], [1, task.taskid]);
  assert.equal(await s.stop(), 0, 'SIGTERM stops the server, exit 0');
});

eachBackend('the event stream pushes a new task, its SILENT status and its ending as they happen', async (f, ctx) => {
  const s = await serve([], f.dir, f.db);
  ctx.after(() => s.stop());
  const es = await events(s);
  ctx.after(() => es.close());
  const feed = path.join(s.dir, 'feed');
  fs.mkdirSync(feed);
  const go = path.join(s.dir, 'go');
  // One heartbeat, then quiet: SILENT at 2 s of its 8 s timeout; it ends when told.
  const l = s.t.startLaunch('--name', 'quiet', '--feedpath', feed, '--timeout', '8', '--', 'sh', '-c', `echo "[step]one" > "$TASKWATCH_FEEDBACK"; while [ ! -e ${go} ]; do sleep 0.1; done; exit 3`);
  ctx.after(() => l.kill('SIGTERM'));
  const born = await waitFor(() => es.seen.find((e) => e.type === 'task' && e.data.task.name === 'quiet'), 15_000, 'a task event');
  const id = born.data.task.taskid;
  await waitFor(() => es.seen.some((e) => e.type === 'task' && e.data.task.taskid === id && e.data.task.status === 'SILENT'), 15_000, 'SILENT pushed');
  fs.writeFileSync(go, '');
  const end = await waitFor(() => es.seen.find((e) => e.type === 'ended' && e.data.entry.taskid === id), 15_000, 'the ending pushed');
  assert.equal(end.data.entry.outcome, 'exited');
  assert.equal(end.data.entry.exitcode, 3);
  assert.ok(es.seen.some((e) => e.type === 'gone' && e.data.taskid === id));
  assert.equal(await l.exited, 3);
});

test('bad input is a 400 or 404 with a sentence: bad ids, bad JSON, oversized bodies, unknown routes, garbage on the socket', async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  const cases: Array<[string, string, { body?: string }, number, RegExp]> = [
    ['GET', '/api/tasks/abc', {}, 400, /id must match/],
    ['GET', '/api/tasks/999', {}, 404, /there is no task 999/],
    ['POST', '/api/tasks/999/kill', {}, 404, /there is no task 999/],
    ['POST', '/api/tasks/1/kill', { body: '{"grace": ' }, 400, /not valid JSON/],
    ['POST', '/api/tasks/1/kill', { body: '{"grace": "soon"}' }, 400, /grace must be number/],
    ['POST', '/api/tasks/1/kill', { body: JSON.stringify({ pad: 'x'.repeat(100_000) }) }, 400, /larger than 16 KiB/],
    ['GET', '/api/history?limit=-1', {}, 400, /limit must be >= 1/],
    ['GET', '/api/history?outcome=exploded', {}, 400, /outcome must be equal to one of/],
    ['POST', '/api/pools/nope/scale', { body: '{"desired": 2}' }, 404, /there is no pool nope/],
    ['POST', '/api/pools/nope/scale', { body: '{"desired": -1}' }, 400, /desired must be >= 0/],
    ['GET', '/api/nothing', {}, 404, /nothing here: GET \/api\/nothing/],
  ];
  for (const [method, p, o, status, sentence] of cases) {
    const r = await request(s, method, p, { ...o, token: true });
    assert.equal(r.status, status, `${method} ${p}: ${r.body}`);
    const { error } = r.json() as { error: string };
    assert.match(error, sentence);
    assert.doesNotMatch(error, /\n\s+at /, 'no stack trace');
  }
  // Garbage on the socket: a 400, and the server goes on.
  for (const junk of [Buffer.from('garbage\r\n\r\n'), crypto.randomBytes(3000)]) {
    const first = await new Promise<string>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1', () => sock.end(junk));
      let got = '';
      sock.on('data', (c) => (got += c));
      sock.on('close', () => resolve(got.split('\r\n')[0]));
      sock.on('error', () => resolve(got.split('\r\n')[0]));
    });
    assert.equal(first, 'HTTP/1.1 400 Bad Request');
  }
  // The server is still there after all of it.
  assert.equal((await request(s, 'GET', '/api/tasks')).status, 200);
});

test('a change without the token, from another origin, or under another Host is refused with 403', async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  const l = s.t.startLaunch('--name', 'target', '--', 'sleep', '60');
  ctx.after(() => l.kill('SIGTERM'));
  const id = (await waitFor(async () => (await s.t.json<Array<{ taskid: number; pid: number | null }>>('--list')).find((x) => x.pid), 15_000, 'the task')).taskid;
  const tries: Array<[string, Parameters<typeof request>[3], RegExp]> = [
    ['no token', {}, /needs the token/],
    ['a wrong token', { headers: { authorization: 'Bearer not-the-token' } }, /token is wrong/],
    ['another origin', { token: true, headers: { origin: 'http://evil.example' } }, /from http:\/\/evil\.example may not change/],
    ['a cross-site fetch', { token: true, headers: { 'sec-fetch-site': 'cross-site' } }, /cross-site request may not change/],
    ['another Host', { token: true, headers: { host: 'evil.example' } }, /not to 'evil\.example'/],
  ];
  for (const [what, o, sentence] of tries) {
    const r = await request(s, 'POST', `/api/tasks/${id}/kill`, o);
    assert.equal(r.status, 403, `${what}: ${r.body}`);
    assert.match(r.json().error, sentence);
  }
  // A page under a rebinding name cannot even read.
  assert.equal((await request(s, 'GET', '/api/tasks', { headers: { host: 'evil.example:80' } })).status, 403);
  assert.equal(alive(l.pid!), true, 'nothing was killed');
  // The same request from the page's own origin, with the token, works.
  const ok = await request(s, 'POST', `/api/tasks/${id}/kill`, { token: true, headers: { origin: `http://127.0.0.1:${s.port}` } });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(await l.exited, 143);
});

test('pools over HTTP: listed, scaled up and down (the instances really run), stopped; the token file is private and kept', async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  ctx.after(() => run(process.execPath, [bin('control'), '--delete-pool', 'web'], s.t.env));
  assert.equal((await s.t.control('--scale', 'web', '1', '--', fixture('hang.sh'))).code, 0);
  const pools = (await request(s, 'GET', '/api/pools')).json();
  assert.deepEqual([pools[0].name, pools[0].desired, pools[0].active], ['web', 1, 1]);
  const up = await request(s, 'POST', '/api/pools/web/scale', { token: true, body: '{"desired": 3}' });
  assert.equal(up.status, 200, up.body);
  assert.match(up.json().message, /pool web scaled: 3 of 3 running \(was 1\)/);
  const live = await s.t.json<Array<{ pool: string | null; pid: number | null }>>('--list');
  assert.equal(live.filter((x) => x.pool === 'web' && x.pid && alive(x.pid)).length, 3);
  const down = await request(s, 'POST', '/api/pools/web/set/cardinality/1', { token: true });
  assert.equal(down.status, 200, down.body);
  assert.equal(down.json().running, 1);
  const del = await request(s, 'DELETE', '/api/pools/web', { token: true });
  assert.equal(del.status, 200, del.body);
  assert.deepEqual((await request(s, 'GET', '/api/pools')).json(), []);

  const tokenFile = path.join(s.dir, 'state', 'taskwatch', 'serve.token');
  assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(tokenFile, 'utf8').trim(), s.token);
  assert.equal(await s.stop(), 0);
  const again = await serve([], s.dir);
  ctx.after(() => again.stop());
  assert.equal(again.token, s.token, 'a restarted server keeps the token');
});

test('--serve refuses what it cannot do, in a sentence: a bad port, a port in use, a token file planted as a link', async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  const env = { ...s.t.env, XDG_STATE_HOME: path.join(s.dir, 'state') };
  const bad = await run(process.execPath, [bin('control'), '--serve', '--port', '99999'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port needs a port number/);
  const busy = await run(process.execPath, [bin('control'), '--serve', '--port', String(s.port)], env);
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, new RegExp(`port ${s.port} on 127\\.0\\.0\\.1 is in use`));
  const planted = path.join(s.dir, 'planted');
  fs.mkdirSync(path.join(planted, 'taskwatch'), { recursive: true });
  fs.symlinkSync('/etc/hostname', path.join(planted, 'taskwatch', 'serve.token'));
  const link = await run(process.execPath, [bin('control'), '--serve', '--port', '0'], { ...s.t.env, XDG_STATE_HOME: planted });
  assert.equal(link.code, 1);
  assert.match(link.stderr, /serve\.token is a symbolic link/);
  assert.doesNotMatch(link.stderr + busy.stderr, /\n\s+at /);
});

test('a launcher SIGKILLed writes nothing, yet the stream says LOST (the server looks while someone watches), with CPU and memory', async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  const es = await events(s);
  ctx.after(() => es.close());
  const l = s.t.startLaunch('--name', 'orphan', '--', 'sleep', '600');
  const row = await waitFor(() => es.seen.find((e) => e.type === 'task' && e.data.task.name === 'orphan' && e.data.task.pid), 15_000, 'the task running');
  const id = row.data.task.taskid;
  ctx.after(() => s.t.control('--kill', String(id), '--grace', '1'));
  const usage = await waitFor(() => es.seen.find((e) => e.type === 'usage' && e.data.usage.some((u: { taskid: number }) => u.taskid === id)), 30_000, 'a usage sample');
  const u = usage.data.usage.find((x: { taskid: number }) => x.taskid === id);
  assert.ok(u.memory > 100_000 && u.cpu >= 0, JSON.stringify(u));
  l.kill('SIGKILL');
  await waitFor(() => es.seen.some((e) => e.type === 'task' && e.data.task.taskid === id && e.data.task.status === 'LOST'), 30_000, 'LOST pushed');
  const killed = await s.t.control('--kill', String(id), '--grace', '1');
  assert.equal(killed.code, 0, killed.stderr);
  await waitFor(() => es.seen.some((e) => e.type === 'ended' && e.data.entry.taskid === id), 15_000, 'its ending pushed');
});

test('the page is compressed and cached: ETag and 304 for the page, immutable hashed assets, no CDN', async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  const page = await request(s, 'GET', '/', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-encoding'], 'gzip');
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  const again = await request(s, 'GET', '/', { headers: { 'if-none-match': String(page.headers.etag) } });
  assert.equal(again.status, 304);
  const html = (await request(s, 'GET', '/')).body;
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  assert.equal(assets.length, 2, html);
  assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//, 'nothing fetched from elsewhere');
  for (const a of assets) {
    const r = await request(s, 'GET', a);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['cache-control']), /immutable/);
    assert.ok(r.body.length > 500);
  }
});

test('--host 0.0.0.0: every API request then needs the token (reads too), any Host is answered; two servers share one registry', async (ctx) => {
  const s = await serve(['--host', '0.0.0.0']);
  ctx.after(() => s.stop());
  const local = await serve([], s.dir); // a second server, on the same registry and state directory
  ctx.after(() => local.stop());
  assert.equal(local.token, s.token);
  assert.equal((await request(s, 'GET', '/api/tasks')).status, 403);
  assert.equal((await request(s, 'GET', '/api/tasks', { headers: { host: `myhost.example:${s.port}` } })).status, 403);
  const ok = await request(s, 'GET', '/api/tasks', { token: true, headers: { host: `myhost.example:${s.port}` } });
  assert.equal(ok.status, 200, ok.body);
  assert.equal((await request(s, 'GET', `/api/history?token=${s.token}`)).status, 200);
  assert.equal((await request(s, 'GET', '/')).status, 200, 'the page itself holds no data');
  await s.t.launch('--name', 'seen-by-both', '--', 'true');
  for (const srv of [s, local]) {
    const h = (await request(srv, 'GET', '/api/history', { token: true })).json();
    assert.equal(h.rows[0].name, 'seen-by-both');
  }
});
