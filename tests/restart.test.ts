// Restarts: one task id across runs, each run its own history row; backoff; a kill is the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { fixture, waitFor, freshRegistry, type Fresh } from './helpers';

interface Live {
  taskid: number;
  pid: number | null;
  status: string;
  restarts: number;
  last_outcome: string | null;
}
interface Hist {
  taskid: number;
  run: number;
  outcome: string;
  exitcode: number | null;
  termerror: string | null;
  starttime: number;
  endtime: number;
  feedback: Record<string, string>;
}

const runs = async (t: Fresh) => (await t.json<Hist[]>('--history')).reverse();

test('a crashing command is restarted with backoff up to --max-restarts, then given up; history has every run', async () => {
  const t = freshRegistry();
  const r = await t.launch('--restart', 'on-failure', '--max-restarts', '2', '--backoff', '0.2:1', '--', 'sh', '-c', 'exit 3');
  assert.equal(r.code, 3, r.stderr);
  const h = await runs(t);
  assert.deepEqual(h.map((x) => [x.run, x.outcome, x.exitcode]), [[1, 'exited', 3], [2, 'exited', 3], [3, 'exited', 3]]);
  assert.equal(new Set(h.map((x) => x.taskid)).size, 1, 'one task id across its runs');
  assert.ok(h[1].starttime - h[0].endtime >= 0.19, `waited the backoff: ${h[1].starttime - h[0].endtime}`);
  assert.ok(h[2].starttime - h[1].endtime >= 0.39, `and twice as long next: ${h[2].starttime - h[1].endtime}`);
  assert.match(h[2].termerror!, /not restarted: it was restarted 2 times already \(--max-restarts 2\)/);
  assert.deepEqual(await t.json('--list'), []);
});

test('on-failure does not restart a success; always does; a stalled command is restarted', async () => {
  const t = freshRegistry();
  assert.equal((await t.launch('--restart', 'on-failure', '--', 'true')).code, 0);
  assert.equal((await runs(t)).length, 1);
  assert.equal((await t.launch('--name', 'again', '--restart', 'always', '--max-restarts', '1', '--backoff', '0', '--', 'true')).code, 0);
  assert.deepEqual((await t.json<Array<Hist & { name: string }>>('--history', '--name', 'again')).map((x) => x.run).sort(), [1, 2]);
  const stall = await t.launch('--name', 'stall', '--feedpath', t.dir, '--timeout', '1', '--grace', '0', '--restart', 'on-failure', '--max-restarts', '1', '--backoff', '0', '--', fixture('hang.sh'));
  assert.equal(stall.code, 124);
  const h = (await t.json<Array<Hist & { name: string }>>('--history', '--name', 'stall')).reverse();
  assert.deepEqual(h.map((x) => [x.run, x.outcome]), [[1, 'timeout'], [2, 'timeout']]);
});

test('between runs the task is BACKOFF with its restarts and last outcome; --kill then stops it for good', async () => {
  const t = freshRegistry();
  const l = t.startLaunch('--name', 'flaky', '--restart', 'always', '--backoff', '30:30', '--', 'sh', '-c', 'exit 1');
  const e = await waitFor(async () => (await t.json<Live[]>('--list')).find((x) => x.status === 'BACKOFF'), 15_000, 'BACKOFF');
  assert.deepEqual([e.restarts, e.last_outcome, e.pid], [1, 'exited', null]);
  const k = await t.control('--kill', String(e.taskid));
  assert.equal(k.code, 0, k.stderr);
  assert.equal((await l.result).code, 143);
  const h = await runs(t);
  assert.equal(h.length, 1, 'no run after the kill');
  assert.match(h[0].termerror!, /not restarted: killed by control --kill \(pid \d+\) while it waited to restart/);
  assert.deepEqual(await t.json('--list'), []);
});

test('a restart never follows a kill request the registry holds, even one whose signal never came', async () => {
  const t = freshRegistry();
  const go = path.join(t.dir, 'go');
  const l = t.startLaunch('--name', 'asked', '--restart', 'always', '--backoff', '0', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; exit 1`);
  const e = await waitFor(async () => (await t.json<Live[]>('--list')).find((x) => x.pid), 15_000, 'running');
  const d = new Database(t.db);
  d.prepare(`UPDATE tasks SET kill_note = 'stopped by the operator' WHERE id = ?`).run(e.taskid);
  d.close();
  require('node:fs').writeFileSync(go, '');
  assert.equal((await l.result).code, 1);
  const h = await runs(t);
  assert.equal(h.length, 1);
  assert.match(h[0].termerror!, /not restarted: stopped by the operator/);
});

test('a restarting task keeps its feedback file name; with --keep-feedback each run\'s file is kept under its run', async () => {
  const t = freshRegistry();
  const r = await t.launch('--feedpath', t.dir, '--keep-feedback', '--restart', 'always', '--max-restarts', '1', '--backoff', '0', '--', 'sh', '-c', 'echo "[pid]$$" > "$TASKWATCH_FEEDBACK"');
  assert.equal(r.code, 0, r.stderr);
  const h = await runs(t);
  assert.equal(h.length, 2);
  assert.notEqual(h[0].feedback.pid, h[1].feedback.pid, 'each run archived its own feedback');
  const files = require('node:fs').readdirSync(t.dir).filter((f: string) => f.startsWith('feedback_')).sort();
  assert.equal(files.length, 2);
  assert.match(files.join(' '), /feedback_1-[0-9a-f]{8}\.log feedback_1-[0-9a-f]{8}\.run1\.log/);
});

test('bad restart options are sentences', async () => {
  const t = freshRegistry();
  for (const [args, msg] of [
    [['--restart', 'sometimes'], /--restart takes no, on-failure or always; got 'sometimes'/],
    [['--max-restarts', 'many'], /--max-restarts needs a whole number; got 'many'/],
    [['--backoff', '5:1'], /--backoff needs MIN\[:MAX\] in seconds, MIN no more than MAX/],
  ] as const) {
    const r = await t.launch(...args, '--', 'true');
    assert.equal(r.code, 125);
    assert.match(r.stderr, msg);
  }
});
