// The figures of control --serve: one registry with 500 live tasks (400 reservations, 100 quiet
// launched tasks) and 100,000 history rows, one server, and Debian's chromium showing the page.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { background, bin, cpuNs, median, sleep, spread, timed, until, type Figure } from './lib';
import { SAMPLE_MS } from '../src/serve/feed';

const ms = (x: number) => `${x.toFixed(1)} ms`;
const pct = (x: number) => `${x.toFixed(3)}%`;
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

function get(port: number, p: string, agent: http.Agent): Promise<{ status: number; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - t0 }));
    }).on('error', reject);
  });
}

/** `rows` history rows (100,000 by default), made by doubling one real archived row (a launch of true) in SQL. */
export async function fillHistory(db: string, env: NodeJS.ProcessEnv, rows = 100_000): Promise<void> {
  const r = await timed(bin('launch'), ['--name', 'seed', '--', 'true'], env);
  if (r.code !== 0) throw new Error(r.stderr);
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const d = new Database(db);
  try {
    const cols = (d.prepare('PRAGMA table_info(history)').all() as Array<{ name: string }>).map((c) => c.name).filter((c) => c !== 'id');
    const pick = (c: string) => (c === 'taskname' ? `'job' || (abs(random()) % 50)` : c === 'outcome' ? `CASE abs(random()) % 4 WHEN 0 THEN 'timeout' WHEN 1 THEN 'killed' ELSE 'exited' END` : c);
    const copy = d.prepare(`INSERT INTO history (${cols.join(', ')}) SELECT ${cols.map(pick).join(', ')} FROM history LIMIT ?`);
    const count = () => (d.prepare('SELECT COUNT(*) AS n FROM history').get() as { n: number }).n;
    d.transaction(() => {
      for (let n = count(); n < rows; n = count()) copy.run(Math.min(n, rows - n));
    })();
  } finally {
    d.close();
  }
}

/** The server's CPU over windows of 10 s, as % of a core. */
async function idle(pid: number, n: number): Promise<number[]> {
  const windows: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = cpuNs(pid);
    const t0 = performance.now();
    await sleep(10_000);
    windows.push(((cpuNs(pid) - c0) / 1e6 / (performance.now() - t0)) * 100);
  }
  return windows;
}

export async function serveFigures(scratch: string, runs: number): Promise<Figure[]> {
  const db = path.join(scratch, 'serve.db');
  const feed = fs.mkdtempSync(path.join(scratch, 'serve-feed-'));
  const env = { TASKWATCH_DB: db, XDG_STATE_HOME: path.join(scratch, 'serve-state') };
  await fillHistory(db, env);
  await Promise.all(Array.from({ length: 8 }, async (_, k) => {
    for (let i = k; i < 400; i += 8) {
      const r = await timed(bin('control'), ['--reserve', '--name', `r${i % 40}`, '--ttl', '3600'], env);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  }));
  // 100 quiet tasks: watched, with a timeout far away, so nothing changes while the server idles.
  const quiet = Array.from({ length: 100 }, (_, i) => background(bin('launch'), ['--name', `quiet${i}`, '--feedpath', feed, '--timeout', '3600', '--', 'sleep', '3600'], env));
  const server = background(bin('control'), ['--serve', '--port', '0'], env, { stdout: true });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const figures: Figure[] = [];
  let browser: import('playwright-core').Browser | undefined;
  try {
    const port = Number((await until(() => /open http:\/\/127\.0\.0\.1:(\d+)/.exec(server.out()), 15000, 'the server'))![1]);
    await until(async () => (JSON.parse((await get(port, '/api/tasks', agent)).body) as Array<{ pid: number | null }>).filter((t) => t.pid).length === 100, 60000, '100 running tasks');

    // /api/tasks with 500 live tasks, over a kept-alive connection.
    const list: number[] = [];
    for (let i = 0; i < 3; i++) await get(port, '/api/tasks', agent); // warm
    for (let i = 0; i < runs * 2 + 1; i++) {
      const r = await get(port, '/api/tasks', agent);
      if (r.status !== 200 || (JSON.parse(r.body) as unknown[]).length !== 500) throw new Error(`/api/tasks: ${r.status}, ${r.body.slice(0, 200)}`);
      list.push(r.ms);
    }
    figures.push({
      name: '`GET /api/tasks` with 500 live tasks (100 running)',
      value: spread(list, ms),
      target: '<= 20 ms',
      pass: median(list) <= 20,
      how: `${list.length} requests over one kept-alive connection; the server reads the registry when it changes (inotify), and each request derives every task's status, quiet time and launcher's liveness at that moment`,
    });

    // A page of history deep in 100,000 rows, filtered and not.
    const deep: number[] = [];
    const named: number[] = [];
    for (let i = 0; i < runs; i++) {
      const a = await get(port, '/api/history?limit=50&offset=99950', agent);
      const b = await get(port, '/api/history?limit=50&offset=500&name=job7&outcome=exited', agent);
      if (a.status !== 200 || (JSON.parse(a.body) as { total: number }).total < 100_000 || b.status !== 200) throw new Error(`/api/history: ${a.status} ${a.body.slice(0, 200)}`);
      deep.push(a.ms);
      named.push(b.ms);
    }
    figures.push({
      name: '`GET /api/history`: the last page of 100,000 rows (50 at offset 99,950)',
      value: `${spread(deep, ms)}; filtered by name and outcome ${spread(named, ms)}`,
      target: '<= 100 ms',
      pass: median(deep) <= 100 && median(named) <= 100,
      how: `${runs} requests each, with the total the filter matches counted every time`,
    });

    if (!CHROMIUM) {
      figures.push({ name: "Event latency: a status change in the registry to the page's DOM", value: "not measured: Debian's chromium is not installed (apt-get install chromium; npm run bench -- --peers installs it as root)", target: '<= 100 ms', pass: false, how: '' });
    } else {
      const { chromium } = require('playwright-core') as typeof import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      const page = await browser.newPage();
      const token = /token=([A-Za-z0-9_-]+)/.exec(server.out())![1];
      await page.goto(`http://127.0.0.1:${port}/?token=${token}`);
      await page.waitForFunction(() => document.querySelectorAll('#tasks tbody tr').length >= 500, undefined, { timeout: 30000 });
      // The page notes, by the wall clock, when each row first says SILENT.
      await page.evaluate(() => {
        const w = window as unknown as { silentAt: Record<string, number> };
        w.silentAt = {};
        new MutationObserver((muts) => {
          for (const m of muts) {
            const tr = m.target as HTMLElement;
            if (tr.tagName === 'TR' && tr.dataset.status === 'SILENT' && !(tr.dataset.id! in w.silentAt)) w.silentAt[tr.dataset.id!] = Date.now();
          }
        }).observe(document.querySelector('#tasks tbody')!, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
      });

      // A task whose feedback file is never written goes SILENT at 25% of its timeout after the file
      // was made: from that instant to the page's DOM saying so.
      const lat: number[] = [];
      for (let i = 0; i < runs; i++) {
        const l = background(bin('launch'), ['--name', `probe${i}`, '--feedpath', feed, '--timeout', '2', '--', 'sleep', '600'], env);
        const id = Number((await until(() => /taskid (\d+)/.exec(l.err()), 15000, 'the probe'))![1]);
        const file = (await until(() => fs.readdirSync(feed).find((f) => f.startsWith(`feedback_${id}-`)), 15000, 'its feedback file'))!;
        const made = fs.statSync(path.join(feed, file)).ctimeMs;
        const seen = await until(() => page.evaluate((k) => (window as unknown as { silentAt: Record<string, number> }).silentAt[k], String(id)), 15000, 'SILENT in the page');
        lat.push(seen - (made + 500));
        l.kill('SIGTERM');
        await l.exited;
      }
      figures.push({
        name: "Event latency: a status change in the registry to the page's DOM (Chromium, 500 rows shown)",
        value: spread(lat, ms),
        target: '<= 100 ms',
        pass: median(lat) <= 100,
        how: `${runs} tasks never heartbeating (--timeout 2): from the instant they turn SILENT (their feedback file's ctime + 0.5 s) to a MutationObserver seeing the row say so; holds the launcher's timer and its registry write, inotify, the server's read, Server-Sent Events and the page's update`,
      });
    }

    // Idle CPU of the server with 100 quiet tasks: first with the page on its event stream, then with nobody watching.
    await sleep(15_000); // the probes' endings settled, and the collector with them
    const watched = await idle(server.pid!, 3);
    await browser?.close();
    browser = undefined;
    await sleep(2000);
    const alone = await idle(server.pid!, 2);
    figures.push({
      name: 'Idle CPU of `control --serve` with 100 quiet tasks',
      value: `${CHROMIUM ? 'with the page open' : 'with nobody watching'} ${spread(watched, pct)}; nobody watching ${spread(alone, pct)} of a core`,
      target: '<= 0.1%',
      pass: Math.max(median(watched), median(alone)) <= 0.1,
      how: `windows of 10 s, all threads (schedstat); while someone watches, the server samples CPU and memory (one /proc read per process) every ${SAMPLE_MS / 1000} s; with nobody watching it only waits for inotify`,
    });
  } finally {
    await browser?.close();
    agent.destroy();
    server.kill('SIGTERM');
    quiet.forEach((q) => q.kill('SIGTERM'));
    await Promise.all([server.exited, ...quiet.map((q) => q.exited)]);
  }
  return figures;
}
