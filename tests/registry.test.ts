import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openRegistry } from '../src/db/sqlite';
import { SCHEMA_VERSION, version } from '../src/db/schema';
import { resolveDbPath } from '../src/db/location';
import { FIXTURES, tmpdir } from './helpers';
import { eachBackend } from './backends';
import { openFor } from '../src/db/open';
import { maskUrl } from '../src/db/pg-bridge';

const launchFields = {
  command: ['true'], feedDir: null, timeoutSec: null, maxTimeSec: null, graceSec: 10, launcher: { pid: process.pid, start: 1 },
  rule: { policy: 'no' as const, maxRestarts: null, backoffMinSec: 0.1, backoffMaxSec: 30 },
  logs: { stdout: null, stderr: null },
};
const exited = { outcome: 'exited' as const, exitcode: 0, termsignal: null, termerror: null, status: 0, feedback: null, endedAt: Date.now() / 1000 };

test('schema: a new file is created at the latest version, in WAL mode', () => {
  const reg = openRegistry(path.join(tmpdir(), 'r.db'), { create: true });
  assert.equal(version(reg.db), SCHEMA_VERSION);
  assert.equal(reg.db.pragma('journal_mode', { simple: true }), 'wal');
  const cols = (reg.db.prepare('PRAGMA table_info(tasks)').all() as Array<{ name: string }>).map((c) => c.name);
  for (const c of ['id', 'name', 'info1', 'info2', 'info3', 'pid', 'status', 'feedback', 'reservetime', 'starttime', 'duration', 'lastupdate', 'timeout', 'launcher_pid', 'launcher_start', 'pid_start', 'command', 'feeddir', 'max_time', 'pgid', 'cgroup', 'grace']) {
    assert.ok(cols.includes(c), `tasks.${c}`);
  }
  const hist = (reg.db.prepare('PRAGMA table_info(history)').all() as Array<{ name: string }>).map((c) => c.name);
  for (const c of ['taskid', 'taskname', 'info1', 'info2', 'info3', 'termsignal', 'termerror', 'starttime', 'endtime', 'duration', 'feedback', 'command', 'pid', 'exitcode', 'outcome']) {
    assert.ok(hist.includes(c), `history.${c}`);
  }
  reg.close();
});

test('schema: the first-schema fixture opens, migrates, and keeps its rows', () => {
  const file = path.join(tmpdir(), 'old.db');
  fs.copyFileSync(path.join(FIXTURES, 'registry-v1.sqlite'), file);
  const before = new Database(file);
  assert.equal(version(before), 1);
  before.close();
  const reg = openRegistry(file, { create: false });
  assert.equal(version(reg.db), SCHEMA_VERSION);
  assert.equal(reg.task(3)?.state, 'RESERVED');
  assert.equal(reg.task(3)?.name, 'Runner');
  assert.equal(reg.task(5)?.state, 'RUNNING');
  const hist = reg.history({ limit: 10 });
  assert.deepEqual(hist.map((h) => h.taskid), [7, 1, 1]);
  // The original reused ids (task 1 twice, and 7 from before); ours continues above every id seen.
  const r = reg.reserve({ name: 'new' });
  assert.ok(r.ok && r.id === 8, `got ${JSON.stringify(r)}`);
  reg.close();
});

eachBackend('ids are never reused: not after archive, not after clearing history, not after recreate', async (t) => {
  const reg = openFor(t.db, { create: true });
  const a = reg.startNew(launchFields);
  reg.archive(a, exited);
  const b = reg.reserve({});
  assert.ok(b.ok);
  const bId = b.ok ? b.id : 0;
  assert.ok(reg.release(bId));
  reg.clearHistory();
  const c = reg.reserve({});
  assert.ok(c.ok && c.id > bId);
  reg.recreate();
  const d = reg.reserve({});
  assert.ok(d.ok && c.ok && d.id > c.id, `after recreate: ${JSON.stringify(d)}`);
  reg.close();
});

eachBackend('reservations expire after their TTL and are swept on the next write', async (t) => {
  const reg = openFor(t.db, { create: true });
  const t0 = 1_000_000;
  const r = reg.reserve({ name: 'x', unique: true, ttlSec: 10 }, t0);
  assert.ok(r.ok);
  assert.equal(reg.liveTasks(t0 + 5).length, 1);
  assert.equal(reg.liveTasks(t0 + 11).length, 0, 'a lapsed reservation is not listed');
  // Still in the table until a write sweeps it; then the unique name is free again.
  assert.equal(reg.liveCount(), 1);
  const again = reg.reserve({ name: 'x', unique: true }, t0 + 11);
  assert.ok(again.ok);
  assert.equal(reg.liveCount(), 1);
  // An expired reservation cannot be claimed.
  const r2 = reg.reserve({ ttlSec: 1 }, t0);
  assert.ok(r2.ok);
  assert.equal(reg.claim(r2.ok ? r2.id : 0, launchFields, t0 + 2), 'unknown');
  reg.close();
});

eachBackend('unique: a live name is refused, with the holder', async (t) => {
  const reg = openFor(t.db, { create: true });
  const a = reg.reserve({ name: 'job', unique: true });
  const b = reg.reserve({ name: 'job', unique: true });
  assert.ok(a.ok);
  assert.ok(!b.ok && b.holder.id === (a.ok ? a.id : -1));
  assert.ok(reg.reserve({ name: 'job' }).ok, 'without --unique the name may repeat');
  reg.close();
});

eachBackend('claim: only a RESERVED task, only once', async (t) => {
  const reg = openFor(t.db, { create: true });
  const r = reg.reserve({});
  const id = r.ok ? r.id : 0;
  const c = reg.claim(id, launchFields);
  assert.ok(typeof c === 'object' && c.claimed.id === id && c.claimed.state === 'RUNNING');
  assert.equal(reg.claim(id, launchFields), 'taken');
  assert.equal(reg.claim(9999, launchFields), 'unknown');
  reg.close();
});

eachBackend('a launched task is LOST exactly when its launcher lets go: on PostgreSQL by the lock the launcher holds, seen from another connection', async (t) => {
  const launcher = openFor(t.db, { create: true });
  const other = openFor(t.db, { create: false });
  const a = launcher.startNew(launchFields);
  const seen = other.task(a.id);
  assert.ok(seen && seen.state !== 'RESERVED');
  if (t.backend === 'sqlite') {
    assert.equal(seen.launcherLock, null, 'SQLite has no locks: the launcher pid decides');
  } else {
    assert.equal(seen.launcherLock, true, 'the launcher holds its lock');
    launcher.close(); // its connection ends: PostgreSQL frees the lock
    const after = other.task(a.id);
    assert.ok(after && after.state !== 'RESERVED');
    assert.equal(after.launcherLock, false, 'lock free: LOST');
  }
  other.close();
  if (t.backend === 'sqlite') launcher.close();
});

test('location: --db, then $TASKWATCH_DB, then $XDG_STATE_HOME, then ~/.local/state', () => {
  assert.equal(resolveDbPath('/a/b.db', { TASKWATCH_DB: '/c.db' }).file, '/a/b.db');
  assert.equal(resolveDbPath(undefined, { TASKWATCH_DB: '/c.db' }).file, '/c.db');
  assert.equal(resolveDbPath(undefined, { XDG_STATE_HOME: '/st' }).file, '/st/taskwatch/taskwatch.db');
  assert.equal(resolveDbPath(undefined, { HOME: '/home/u' }).file, '/home/u/.local/state/taskwatch/taskwatch.db');
});

test('a PostgreSQL URL is named without its password, wherever the password is written', () => {
  assert.equal(maskUrl('postgres://me:s3cret@db.example:5432/tasks'), 'postgres://me:***@db.example:5432/tasks');
  assert.equal(maskUrl('postgresql://me@db.example/tasks?password=s3cret&sslmode=require'), 'postgresql://me@db.example/tasks?password=***&sslmode=require');
  assert.equal(maskUrl('postgres://me@db.example/tasks'), 'postgres://me@db.example/tasks');
});
