import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, bin, run, start, waitFor } from './helpers';
import { fresh, pgServer, pgSkip } from './backends';

// Drills on the PostgreSQL registry: the server restarted or away while tasks run, and many
// launches from several hosts at once. Nothing may be lost.

const skip = pgSkip();

interface Live {
  taskid: number;
  name: string;
  pid: number | null;
  status: string;
}
interface Hist {
  taskid: number;
  name: string;
  outcome: string;
  exitcode: number | null;
  host: string;
}

const waitLoop = (go: string) => `while [ ! -e ${go} ]; do sleep 0.1; done`;

test('the server restarted while 50 tasks run: launchers reconnect and take their locks again (none stays LOST), and every ending is archived', { skip, timeout: 180_000 }, async () => {
  const pg = await pgServer();
  const t = await fresh('postgres');
  const go = path.join(t.dir, 'go');
  const ls = Array.from({ length: 50 }, (_, i) => start(process.execPath, [bin('launch'), '--name', `r${i}`, '--', 'sh', '-c', `${waitLoop(go)}; exit ${i % 3}`], { ...t.env, TASKWATCH_HOST: `h${i % 2}` }));
  await waitFor(async () => (await t.json<Live[]>('--list')).filter((e) => e.pid !== null && e.status === 'RUNNING').length === 50, 60_000, '50 tasks running');
  pg.restart();
  // Right after the restart no lock is held; each launcher's connection comes back and retakes its own.
  await waitFor(async () => {
    const live = await t.json<Live[]>('--list');
    return live.length === 50 && live.every((e) => e.status === 'RUNNING');
  }, 30_000, 'every task RUNNING again (locks retaken)');
  fs.writeFileSync(go, '');
  const codes = await Promise.all(ls.map((l) => l.exited));
  assert.deepEqual(codes, ls.map((_, i) => i % 3));
  const hist = await t.json<Hist[]>('--history', '--limit', '100');
  assert.equal(hist.length, 50);
  assert.deepEqual(hist.map((h) => h.outcome).filter((o) => o !== 'exited'), []);
  assert.deepEqual(await t.json('--list'), []);
});

test('the server away while tasks end: each ending waits and retries, and is archived once the server is back', { skip, timeout: 180_000 }, async () => {
  const pg = await pgServer();
  const t = await fresh('postgres');
  const go = path.join(t.dir, 'go');
  const ls = Array.from({ length: 8 }, (_, i) => start(process.execPath, [bin('launch'), '--name', `a${i}`, '--', 'sh', '-c', `${waitLoop(go)}; exit ${i % 2}`], t.env));
  const live = await waitFor(async () => {
    const l = await t.json<Live[]>('--list');
    return l.filter((e) => e.pid !== null).length === 8 && l;
  }, 60_000, '8 tasks running');
  pg.pause();
  try {
    fs.writeFileSync(go, '');
    // The tasks end now; their launchers cannot archive, so they keep trying instead of exiting.
    await waitFor(() => live.every((e) => !alive(e.pid!)), 15_000, 'the tasks to end');
    assert.ok(ls.every((l) => l.exitCode === null), 'no launcher gave up or exited without its archive');
  } finally {
    pg.resume();
  }
  const codes = await Promise.all(ls.map((l) => l.exited));
  assert.deepEqual(codes, ls.map((_, i) => i % 2));
  const hist = await t.json<Hist[]>('--history', '--limit', '100');
  assert.deepEqual(hist.map((h) => h.name).sort(), ls.map((_, i) => `a${i}`).sort());
});

test('200 concurrent launches from 4 hosts on one server: every one archived once, none lost', { skip, timeout: 240_000 }, async () => {
  const t = await fresh('postgres');
  const rs = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    run(process.execPath, [bin('launch'), '--name', `c${i}`, '--', 'sh', '-c', `exit ${i % 5}`], { ...t.env, TASKWATCH_HOST: `host${i % 4}` }, { timeoutMs: 200_000 })));
  rs.forEach((r, i) => assert.equal(r.code, i % 5, `c${i}: ${r.stderr}`));
  const hist = await t.json<Hist[]>('--history', '--limit', '1000');
  assert.equal(hist.length, 200);
  assert.equal(new Set(hist.map((h) => h.taskid)).size, 200);
  for (const h of hist) {
    const i = Number(h.name.slice(1));
    assert.deepEqual([h.outcome, h.exitcode, h.host], ['exited', i % 5, `host${i % 4}`]);
  }
  assert.deepEqual(await t.json('--list'), []);
});
