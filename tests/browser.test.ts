// The page of control --serve in a real Chromium (Debian's, driven by playwright-core): a task appears,
// turns SILENT and is killed from the page, without a reload. A screenshot goes to test-output/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT, alive, waitFor } from './helpers';
import { serve } from './serve-helpers';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
// .ci/run installs Debian's chromium and sets this, so that there a missing browser fails instead of skipping.
const required = process.env.TASKWATCH_REQUIRE_BROWSER === '1';
const skip = !CHROMIUM && !required ? 'Debian\'s chromium is not installed (apt-get install chromium; .ci/run does it)' : false;

async function browser(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('Debian\'s chromium is not installed (apt-get install chromium; .ci/run does it)');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

test('the page: a task appears, turns SILENT without a reload, is killed from the page and moves to history', { skip }, async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  const b = await browser();
  ctx.after(() => b.close());
  const feed = path.join(s.dir, 'feed');
  fs.mkdirSync(feed);
  // A busy-looking neighbour for the screenshot, and the task under test, which heartbeats until told to go quiet.
  const quiet = path.join(s.dir, 'quiet');
  const other = s.t.startLaunch('--name', 'backup', '--feedpath', feed, '--timeout', '30', '--', 'sh', '-c', 'i=0; while :; do i=$((i+5)); printf "[progress]%s\\n[phase]upload\\n" $((i % 100)) > "$TASKWATCH_FEEDBACK"; sleep 0.5; done');
  ctx.after(() => other.kill('SIGTERM')); // launch ends its task too (a SIGKILLed launch would leave it running)
  const page = await b.newPage({ viewport: { width: 1280, height: 720 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${s.base}/?token=${s.token}`);
  await page.waitForSelector('#conn[data-state="live"]');
  assert.equal(new URL(page.url()).searchParams.has('token'), false, 'the token leaves the address bar');
  await page.evaluate(() => ((window as unknown as { loadedOnce: number }).loadedOnce = 1));

  // SILENT at 5 s of quiet (25% of 20 s), STALLED at 10 s: a 5 s window to see it in, on a busy machine too.
  const l = s.t.startLaunch('--name', 'nightly', '--feedpath', feed, '--timeout', '20', '--', 'sh', '-c', `while [ ! -e ${quiet} ]; do echo "[step]working" > "$TASKWATCH_FEEDBACK"; sleep 0.3; done; exec sleep 600`);
  ctx.after(() => l.kill('SIGTERM'));
  const row = page.locator('#tasks tbody tr', { hasText: 'nightly' });
  await row.waitFor({ timeout: 15_000 });
  const id = Number(await row.getAttribute('data-id'));
  assert.equal(await row.getAttribute('data-status'), 'RUNNING');
  await page.locator(`#tasks tr[data-id="${id}"] .chip`, { hasText: 'working' }).waitFor({ timeout: 15_000 });
  fs.writeFileSync(quiet, '');
  await page.locator(`#tasks tr[data-id="${id}"][data-status="SILENT"]`).waitFor({ timeout: 15_000 });

  const out = path.join(ROOT, 'test-output');
  fs.mkdirSync(out, { recursive: true });
  await page.screenshot({ path: path.join(out, 'dashboard.png'), fullPage: true });
  ctx.diagnostic(`screenshot: ${path.join(out, 'dashboard.png')}`);

  const pid = (await s.t.json<Array<{ taskid: number; pid: number }>>('--list')).find((t) => t.taskid === id)!.pid;
  await row.locator('button', { hasText: 'Kill' }).click();
  await page.locator('#confirm[open]').waitFor();
  assert.match(await page.locator('#confirm-text').innerText(), new RegExp(`Kill task ${id} \\(nightly`));
  await page.locator('#confirm-ok').click();
  await row.waitFor({ state: 'detached', timeout: 30_000 });
  const ended = page.locator(`#history tbody tr[data-taskid="${id}"]`);
  await ended.waitFor({ timeout: 15_000 });
  assert.match(await ended.innerText(), /killed/);
  await page.locator('#toast', { hasText: `task ${id} killed and archived` }).waitFor({ timeout: 15_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce), 1, 'no reload happened');
  await waitFor(() => !alive(pid), 15_000, 'the task to be dead');
  assert.equal(await l.exited, 143);
  assert.deepEqual(errors, []);
});

test('the page: history is paged and filtered on the server; pools have +/− buttons that scale them', { skip }, async (ctx) => {
  const s = await serve();
  ctx.after(() => s.stop());
  for (let i = 0; i < 60; i++) await s.t.launch('--name', i % 10 === 0 ? 'rare' : 'common', '--', 'true');
  const b = await browser();
  ctx.after(() => b.close());
  const page = await b.newPage();
  await page.goto(`${s.base}/?token=${s.token}`);
  await page.locator('#page-info', { hasText: '1–50 of 60' }).waitFor({ timeout: 15_000 });
  await page.locator('#next').click();
  await page.locator('#page-info', { hasText: '51–60 of 60' }).waitFor();
  await page.locator('#f-name').fill('rare');
  await page.locator('#page-info', { hasText: '1–6 of 6' }).waitFor();
  assert.equal(await page.locator('#history tbody tr').count(), 6);

  ctx.after(() => s.t.control('--delete-pool', 'web'));
  assert.equal((await s.t.control('--scale', 'web', '1', '--', 'sleep', '600')).code, 0);
  const pool = page.locator('#pools tr[data-pool="web"]');
  await pool.waitFor({ timeout: 15_000 });
  await pool.locator('button', { hasText: '+' }).click();
  await page.locator('#pools tr[data-pool="web"] td', { hasText: '2 / 2' }).waitFor({ timeout: 15_000 });
  const live = await s.t.json<Array<{ pool: string | null; pid: number | null }>>('--list');
  assert.equal(live.filter((t) => t.pool === 'web' && t.pid !== null && alive(t.pid)).length, 2);
  await pool.locator('button', { hasText: '−' }).click();
  await page.locator('#pools tr[data-pool="web"] td', { hasText: '1 / 1' }).waitFor({ timeout: 15_000 });
});
