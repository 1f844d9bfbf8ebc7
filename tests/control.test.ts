import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bin, run, start, tmpdir, waitFor } from './helpers';
import { eachBackend } from './backends';

const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

eachBackend('control --reserve prints the id alone, or {"taskid":N} with --json', async (t) => {
  const a = await t.control('--reserve');
  assert.equal(a.code, 0);
  assert.match(a.stdout, /^\d+\n$/);
  const b = await t.json<{ taskid: number }>('--reserve', '--name', 'x');
  assert.deepEqual(Object.keys(b), ['taskid']);
  assert.equal(b.taskid, Number(a.stdout) + 1);
});

eachBackend('12 processes racing for --reserve --name X --unique: exactly one wins', async (t) => {
  const rs = await Promise.all(Array.from({ length: 12 }, () => t.control('--reserve', '--name', 'X', '--unique')));
  const won = rs.filter((r) => r.code === 0);
  const lost = rs.filter((r) => r.code === 1);
  assert.equal(won.length, 1, rs.map((r) => `${r.code} ${r.stderr}`).join('\n'));
  assert.equal(lost.length, 11);
  for (const r of lost) assert.match(r.stderr, new RegExp(`held by live task ${won[0].stdout.trim()} \\(reserved\\)`));
  const list = await t.json<Array<{ name: string }>>('--list');
  assert.equal(list.filter((e) => e.name === 'X').length, 1);
});

eachBackend('control --list: "No tasks." when empty; --json has exactly the documented keys', async (t) => {
  assert.equal((await t.control('--initialize')).code, 0);
  const empty = await t.control('--list');
  assert.deepEqual([empty.code, empty.stdout], [0, 'No tasks.\n']);
  assert.deepEqual(await t.json('--list'), []);
  await t.control('--reserve', '--name', 'n1', '--info1', 'a');
  const [e] = await t.json<Array<Record<string, unknown>>>('--list');
  assert.deepEqual(Object.keys(e), ['taskid', 'name', 'info1', 'info2', 'info3', 'pid', 'status', 'starttime', 'duration', 'feedback', 'timer', 'timeout', 'cpu', 'memory', 'containment', 'restarts', 'last_outcome', 'pool', 'instance', 'host']);
  assert.deepEqual([e.name, e.info1, e.status, e.feedback, e.containment], ['n1', 'a', 'RESERVED', false, null]);
  // Compact by default (80 columns in a pipe, no borders, only the info columns in use)...
  const compact = (await t.control('--list')).stdout.split('\n');
  assert.deepEqual(compact[0].split(/\s{2,}/), ['ID', 'NAME', 'INFO1', 'STATUS', 'PID', 'AGE', 'TIMER', 'CPU%', 'MEM', 'RESTARTS']);
  assert.match(compact[1], /^\d+\s+n1\s+a\s+RESERVED$/);
  // ...and every column, in boxes, with --wide.
  const table = await t.control('--list', '--wide');
  const header = table.stdout.split('\n')[1];
  assert.deepEqual(header.split('│').map((s) => s.trim()).filter(Boolean),
    ['taskid', 'name', 'info1', 'info2', 'info3', 'pid', 'status', 'starttime', 'duration(s)', 'feedback', 'timer(s)', 'timeout(s)', 'cpu%', 'memory', 'host']);
  assert.match(table.stdout, /│ \d+\s+│ n1\s+│ a\s+│\s+│\s+│\s+│ RESERVED │/);
});

eachBackend('control --history: newest first, --limit, --name, and the JSON keys', async (t) => {
  for (const code of [0, 1, 2]) {
    const r = await t.launch('--name', code === 2 ? 'two' : 'other', '--', 'sh', '-c', `exit ${code}`);
    assert.equal(r.code, code);
  }
  const all = await t.json<Array<Record<string, unknown>>>('--history');
  assert.deepEqual(all.map((h) => h.exitcode), [2, 1, 0]);
  assert.deepEqual(Object.keys(all[0]), ['id', 'taskid', 'name', 'info1', 'info2', 'info3', 'command', 'pid', 'starttime', 'endtime', 'duration', 'outcome', 'exitcode', 'termsignal', 'termerror', 'feedback', 'run', 'status', 'host']);
  assert.deepEqual(all[0].command, ['sh', '-c', 'exit 2']);
  assert.equal(typeof all[0].starttime, 'number');
  assert.ok((all[0].endtime as number) >= (all[0].starttime as number));
  assert.deepEqual(all[0].feedback, {});
  assert.equal((await t.json<unknown[]>('--history', '--limit', '2')).length, 2);
  const two = await t.json<Array<{ name: string }>>('--history', '--name', 'two');
  assert.deepEqual(two.map((h) => h.name), ['two']);
  const compact = (await t.control('--history')).stdout.split('\n');
  assert.deepEqual(compact[0].split(/\s{2,}/), ['TASK', 'RUN', 'NAME', 'OUTCOME', 'EXIT', 'ENDED', 'TOOK', 'ERROR']);
  assert.match(compact[1], /^\d+\s+1\s+two\s+exited\s+2\s+(\d\d-\d\d \d\d:\d\d|\d\d:\d\d:\d\d)\s+\d+\.\ds\s+exited with code 2$/);
  const table = await t.control('--history', '--wide');
  assert.match(table.stdout, /│ exited\s+│ 2\s+│/);
});

eachBackend('control --clear says how many rows went; --initialize refuses while tasks are live', async (t) => {
  await t.launch('--', 'true');
  await t.launch('--', 'true');
  const c = await t.control('--clear');
  assert.deepEqual([c.code, c.stdout], [0, 'Cleared 2 history rows.\n']);
  const id = Number((await t.control('--reserve')).stdout);
  const refused = await t.control('--initialize');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /has 1 live task; refusing to initialize \(add --force/);
  const forced = await t.control('--initialize', '--force');
  assert.equal(forced.code, 0);
  assert.equal((await t.control('--list')).stdout, 'No tasks.\n');
  assert.ok(Number((await t.control('--reserve')).stdout) > id, 'ids continue after --initialize');
});

eachBackend('control --feedback: from history for an ended task; sentences for unknown and reserved ids', async (t) => {
  const dir = t.dir;
  const r = await t.launch('--feedpath', dir, '--', 'sh', '-c', 'printf "[a]1\\n[b]two\\n" > "$TASKWATCH_FEEDBACK"');
  assert.equal(r.code, 0);
  const id = Number(/taskid (\d+)/.exec(r.stderr)![1]);
  assert.deepEqual(await t.json('--feedback', String(id)), { a: '1', b: 'two' });
  const unknown = await t.control('--feedback', '999');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^control: there is no task 999 in \S+; no feedback to show\n$/);
  const res = (await t.control('--reserve')).stdout.trim();
  const reserved = await t.control('--feedback', res);
  assert.equal(reserved.code, 1);
  assert.match(reserved.stderr, /reserved and has not started/);
});

eachBackend('control --update sweeps lapsed reservations', async (t) => {
  // Long enough that the second reservation (a write, which sweeps) comes before the first lapses, even on a busy machine.
  await t.control('--reserve', '--ttl', '3');
  await t.control('--reserve', '--ttl', '3');
  await waitFor(async () => (await t.control('--list')).stdout === 'No tasks.\n', 15_000, 'the reservations to lapse');
  const u = await t.control('--update');
  assert.deepEqual([u.code, u.stdout], [0, 'swept 2 expired reservations\n']);
});

test('bad input: one sentence, a documented exit code, no stack trace, the file untouched', async () => {
  const dir = tmpdir();
  const text = path.join(dir, 'notes.txt');
  fs.writeFileSync(text, 'these are my notes, not a database\n'.repeat(50));
  const before = sha(text);
  const cases: Array<[string[], number, RegExp]> = [
    [['--db', text, '--list'], 3, /is not a taskwatch database \(it is not an SQLite file\)/],
    [['--db', text, '--reserve'], 3, /is not a taskwatch database/],
    [['--db', dir, '--list'], 3, /is a directory, not a database file/],
    [['--db', '/proc/nope/tw.db', '--reserve'], 3, /cannot create \/proc\/nope\/tw\.db: its directory does not exist/],
    [['--db', '/proc/tw.db', '--reserve'], 3, /cannot open \/proc\/tw\.db: check that its directory exists and is writable/],
    [['--db', path.join(dir, 'typo.db'), '--list'], 3, /there is no registry at .*typo\.db; launch or control --reserve creates it/],
    [['--db', path.join(dir, 'ok.db'), '--kill', 'abc'], 2, /--kill needs a task id, a positive whole number; got 'abc'/],
    [['--db', path.join(dir, 'ok.db'), '--feedback', '-3'], 2, /--feedback needs a task id/],
    [['--db', path.join(dir, 'ok.db'), '--reserve', '--ttl', '0.01'], 0, /^$/],
    [['--db', path.join(dir, 'ok.db'), '--kill', '42'], 1, /there is no task 42 .*nothing to kill/],
    [['--db', path.join(dir, 'ok.db'), '--killall', 'ghost'], 1, /no running task is named 'ghost'/],
    [['--db', path.join(dir, 'ok.db'), '--frobnicate'], 2, /Unknown argument: frobnicate/],
    [['--db', path.join(dir, 'ok.db')], 2, /nothing to do: give one of/],
    [['--db', path.join(dir, 'ok.db'), '--list', '--history'], 2, /one command at a time/],
    [['--db', path.join(dir, 'ok.db'), '--reserve', '--unique'], 2, /--unique needs a --name/],
    [['--db', path.join(dir, 'ok.db'), '--list', '--follow'], 2, /--follow goes with --feedback ID or --logs ID/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await run(process.execPath, [bin('control'), ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    if (code === 0) continue;
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.equal(sha(text), before, 'the non-database file is untouched');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('notes')), ['notes.txt'], 'no -wal or -shm beside it');
  assert.equal(fs.existsSync(path.join(dir, 'typo.db')), false, 'a reader creates no registry');
});

test('parse prints the JSON object on one line; a missing file is a sentence and exit 1', async () => {
  const dir = tmpdir();
  const file = path.join(dir, 'fb.log');
  fs.writeFileSync(file, '[progress]100\n[name]a "quoted" value\n');
  const r = await run(process.execPath, [bin('parse'), '--feedback', file]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '{"progress":"100","name":"a \\"quoted\\" value"}\n');
  assert.deepEqual(JSON.parse(r.stdout), { progress: '100', name: 'a "quoted" value' });
  const miss = await run(process.execPath, [bin('parse'), '--feedback', path.join(dir, 'nope')]);
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /^parse: no such file: .*nope\n$/);
  const dirArg = await run(process.execPath, [bin('parse'), '--feedback', dir]);
  assert.equal(dirArg.code, 1);
  assert.match(dirArg.stderr, /^parse: cannot read .*: it is a directory \(EISDIR\), not a regular file\n$/);
});

eachBackend('control --feedback ID --follow prints each change and the final feedback, then exits', async (t) => {
  const dir = t.dir;
  const id = (await t.control('--reserve')).stdout.trim();
  const go = path.join(dir, 'go');
  const l = t.startLaunch('--taskid', id, '--feedpath', dir, '--', 'sh', '-c',
    `echo "[step]1" >> "$TASKWATCH_FEEDBACK"; while [ ! -e ${go} ]; do sleep 0.05; done; for i in 2 3; do sleep 0.3; echo "[step]$i" >> "$TASKWATCH_FEEDBACK"; done; sleep 0.3; printf "[]\\n[done]yes\\n" >> "$TASKWATCH_FEEDBACK"`); // one write: no empty state between
  await waitFor(async () => (await t.json<Record<string, string>>('--feedback', id)).step === '1');
  const follow = start(process.execPath, [bin('control'), '--feedback', id, '--follow'], t.env);
  await waitFor(() => follow.stdoutSoFar().includes('{"step":"1"}'), 15_000, 'the follower to start');
  fs.writeFileSync(go, '');
  const r = await follow.result;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((x) => JSON.parse(x)), [{ step: '1' }, { step: '2' }, { step: '3' }, { done: 'yes' }]);
  assert.equal((await l.result).code, 0);
});

eachBackend('every task and history row says its host (TASKWATCH_HOST, else the hostname); --host NAME shows one host\'s', async (t) => {
  const dir = t.dir;
  const on = (host: string | undefined, ...args: string[]) => run(process.execPath, [bin('launch'), ...args], { ...t.env, TASKWATCH_HOST: host ?? '' });
  const go = path.join(dir, 'go');
  const a = start(process.execPath, [bin('launch'), '--name', 'a', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done`], { ...t.env, TASKWATCH_HOST: 'alpha' });
  const b = start(process.execPath, [bin('launch'), '--name', 'b', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.1; done`], { ...t.env, TASKWATCH_HOST: 'beta' });
  const live = await waitFor(async () => {
    const l = await t.json<Array<{ name: string; host: string | null; pid: number | null }>>('--list');
    return l.filter((x) => x.pid).length === 2 && l;
  }, 15_000, 'two tasks running');
  assert.deepEqual(live.map((x) => [x.name, x.host]).sort(), [['a', 'alpha'], ['b', 'beta']]);
  const alpha = await t.json<Array<{ name: string }>>('--list', '--host', 'alpha');
  assert.deepEqual(alpha.map((x) => x.name), ['a']);
  const table = (await t.control('--list')).stdout;
  assert.match(table.split('\n')[0], /^ID\s+NAME\s+HOST\s+STATUS/, 'two hosts: the compact table shows HOST');
  fs.writeFileSync(go, '');
  assert.deepEqual([await a.exited, await b.exited], [0, 0]);
  assert.equal((await on(undefined, '--name', 'here', '--', 'true')).code, 0);
  const hist = await t.json<Array<{ name: string; host: string }>>('--history');
  assert.deepEqual(hist.map((h) => [h.name, h.host]).sort(), [['a', 'alpha'], ['b', 'beta'], ['here', os.hostname()]]);
  assert.deepEqual((await t.json<Array<{ name: string }>>('--history', '--host', 'beta')).map((h) => h.name), ['b']);
  const bad = await t.control('--reserve', '--host', 'alpha');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--host goes with --list or --history/);
});

test('a registry URL: PostgreSQL that cannot be reached, or a scheme taskwatch does not know, is a sentence; nothing runs, nothing is made', async () => {
  const dir = tmpdir();
  const url = 'postgres://me@127.0.0.1:1/tasks'; // nothing listens on port 1
  const c = await run(process.execPath, [bin('control'), '--list', '--db', url], {}, { cwd: dir });
  assert.equal(c.code, 3);
  assert.match(c.stderr, /^control: cannot reach PostgreSQL at postgres:\/\/me@127\.0\.0\.1:1\/tasks: .*ECONNREFUSED/);
  const l = await run(process.execPath, [bin('launch'), '--', 'sh', '-c', `touch ${path.join(dir, 'ran')}`], { TASKWATCH_DB: url }, { cwd: dir });
  assert.equal(l.code, 125);
  assert.match(l.stderr, /cannot reach PostgreSQL/);
  const m = await run(process.execPath, [bin('control'), '--list', '--db', 'mysql://me@db.example/tasks'], {}, { cwd: dir });
  assert.equal(m.code, 3);
  assert.match(m.stderr, /the registry 'mysql:\/\/me@db\.example\/tasks' is a URL taskwatch does not know/);
  assert.equal(fs.existsSync(path.join(dir, 'ran')), false, 'the command did not run');
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing was made');
});
