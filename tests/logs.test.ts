// Output capture: launch --log with rotation, control --logs [--lines N] [--follow].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { bin, start, waitFor, freshRegistry, runningId } from './helpers';


test('a task printing 50 MB with --log-max 1M --log-keep 2 takes at most 3 MB of disk', async () => {
  const t = freshRegistry();
  const log = path.join(t.dir, 'out.log');
  const r = await t.launch('--log', log, '--log-max', '1M', '--log-keep', '2', '--', 'sh', '-c', 'head -c 52428800 /dev/zero | tr "\\0" x; echo; echo the end');
  assert.equal(r.code, 0, r.stderr);
  const files = fs.readdirSync(t.dir).filter((f) => f.startsWith('out.log')).sort();
  assert.deepEqual(files, ['out.log', 'out.log.1', 'out.log.2']);
  const bytes = files.reduce((n, f) => n + fs.statSync(path.join(t.dir, f)).size, 0);
  assert.ok(bytes <= 3 * 1024 * 1024, `${bytes} bytes on disk`);
  assert.match(fs.readFileSync(log, 'utf8'), /the end\n$/);
  const [h] = await t.json<Array<{ taskid: number }>>('--history');
  const last = await t.control('--logs', String(h.taskid), '--lines', '1');
  assert.deepEqual([last.code, last.stdout], [0, 'the end\n']);
});

test('--logs shows the last lines, of both streams when they are split; --follow sees new lines and ends with the task', async () => {
  const t = freshRegistry();
  const go = path.join(t.dir, 'go');
  const out = path.join(t.dir, 'out.log');
  const err = path.join(t.dir, 'err.log');
  t.startLaunch('--name', 'talker', '--log-stdout', out, '--log-stderr', err, '--', 'sh', '-c',
    `for i in 1 2 3 4 5; do echo "line $i"; done; echo oops >&2; while [ ! -e ${go} ]; do sleep 0.05; done; echo "after go"; exit 3`);
  const id = await runningId(t, 'talker');
  await waitFor(() => fs.existsSync(err) && fs.readFileSync(err, 'utf8') === 'oops\n', 15_000, 'the first lines');
  const r = await t.control('--logs', String(id), '--lines', '2');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `==> ${out} <==\nline 4\nline 5\n==> ${err} <==\noops\n`);
  const f = start(process.execPath, [bin('control'), '--logs', String(id), '--lines', '1', '--follow'], t.env, { timeoutMs: 60_000 });
  await waitFor(() => f.stdoutSoFar().includes('oops'), 15_000, 'the follower');
  fs.writeFileSync(go, '');
  const fr = await f.result;
  assert.equal(fr.code, 3, "it ends with the task's exit status");
  assert.match(fr.stdout, /after go\n$/);
});

test('a log path that is a link is refused; a task without --log has no logs; a log the registry names but another user owns is not shown', async () => {
  const t = freshRegistry();
  const victim = path.join(t.dir, 'victim');
  fs.writeFileSync(victim, 'mine\n');
  const link = path.join(t.dir, 'link.log');
  fs.symlinkSync(victim, link);
  const r = await t.launch('--log', link, '--', 'echo', 'hi');
  assert.equal(r.code, 125);
  assert.match(r.stderr, /the log file .*link\.log is a symbolic link; not followed/);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'mine\n');
  assert.equal((await t.launch('--name', 'plain', '--', 'true')).code, 0);
  const [h] = await t.json<Array<{ taskid: number }>>('--history', '--name', 'plain');
  const none = await t.control('--logs', String(h.taskid));
  assert.deepEqual([none.code, none.stderr], [1, `control: task ${h.taskid} was launched without --log, so its output was not kept\n`]);
  if (process.getuid?.() === 0) {
    const theirs = path.join(t.dir, 'theirs.log');
    fs.writeFileSync(theirs, 'secret\n');
    fs.chownSync(theirs, 65534, 65534);
    const d = new Database(t.db);
    d.prepare('UPDATE history SET log_out = ? WHERE taskid = ?').run(theirs, h.taskid);
    d.close();
    const forged = await t.control('--logs', String(h.taskid));
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /theirs\.log belongs to another user than the registry's; not shown/);
  }
});
