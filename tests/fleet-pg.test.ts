// The epoll_demo fleet with its demo_task table on PostgreSQL: two controllers on two "hosts",
// each with its own workers, share one table; PostgreSQL's claims decide who runs what.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, startController, startWorker } from './demo-helpers';
import { fresh, pgServer, pgSkip } from './backends';
import { Client } from 'pg';
import { TaskState } from '../src/demo/taskdb';

const skip = pgSkip();

/** Counts, across the workers' -v logs, how many times each task was done. */
function executions(logs: string[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const log of logs) for (const m of log.matchAll(/task (\S+): done/g)) n.set(m[1], (n.get(m[1]) ?? 0) + 1);
  return n;
}

async function sql<T>(url: string, text: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

test('two controllers on two hosts share one demo_task table on PostgreSQL: 2,000 zero-second tasks, each done exactly once, both controllers exit 0', { skip, timeout: 120_000 }, async () => {
  const url = (await fresh('postgres')).db;
  const made = await admin('create', '-f', url, '-n', '2000', '--max-sleep', '0');
  assert.equal(made.code, 0, made.stderr);
  assert.equal(made.stdout, 'Created 2000 tasks\n');
  const cs = await Promise.all(['alpha', 'beta'].map(async (host) => {
    process.env.TASKWATCH_HOST = host; // the controller names itself by host and port in the rows it takes
    return startController(url, 0, '--interval', '0.3');
  }));
  delete process.env.TASKWATCH_HOST;
  const ws = cs.flatMap((c, i) => [1, 2, 3, 4].map((k) => startWorker(c.port, `${i ? 'b' : 'a'}${k}`)));
  assert.deepEqual(await Promise.all([...cs.map((c) => c.exited), ...ws.map((w) => w.exited)]), Array(10).fill(0));
  const n = executions(ws.map((w) => w.stderrSoFar()));
  assert.deepEqual([...n].filter(([, k]) => k > 1), [], 'no task done twice');
  assert.equal(n.size, 2000, 'every task done');
  const perController = await sql<{ controller: string; n: string }>(url, `SELECT controller, COUNT(*) AS n FROM demo_task WHERE state = ${TaskState.Success} GROUP BY controller ORDER BY controller`);
  assert.equal(perController.length, 2, `both controllers dispatched: ${JSON.stringify(perController)}`);
  assert.equal(perController.reduce((s, r) => s + Number(r.n), 0), 2000);
  const check = await admin('check', '-f', url, '--json');
  assert.equal(check.code, 0, check.stderr);
  assert.ok((JSON.parse(check.stdout) as Array<{ state: number }>).every((r) => r.state === TaskState.Success));
});

for (const what of ['table', 'database'] as const) {
  test(`dropping the demo_task ${what} stops both controllers, as removing the file does`, { skip, timeout: 60_000 }, async () => {
    const url = (await fresh('postgres')).db;
    assert.equal((await admin('create', '-f', url, '-n', '5', '--max-sleep', '30')).code, 0);
    const cs = [await startController(url, 0, '--interval', '0.2'), await startController(url, 0, '--interval', '0.2')];
    const ws = cs.map((c, i) => startWorker(c.port, `w${i}`));
    if (what === 'table') await sql(url, 'DROP TABLE demo_task');
    else await sql((await pgServer()).url, `DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
    assert.deepEqual(await Promise.all(cs.map((c) => c.exited)), [1, 1]);
    for (const c of cs) assert.match(c.log(), /task database .* was removed or replaced; telling \d+ workers to exit/);
    for (const w of ws) w.kill('SIGTERM'); // each was told to exit, after the task it sleeps on
    await Promise.all(ws.map((w) => w.exited));
    const missing = await admin('check', '-f', url);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, what === 'table' ? /has no demo_task table; create it with task-admin create/ : /has no such database/);
  });
}
