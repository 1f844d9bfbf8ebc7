import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bin, ROOT, run, tmpdir, tw, waitFor } from './helpers';
import { FLAG, VALUE } from '../src/launch/args';
import { parseWorkerArgs } from '../src/demo/worker-args';
import { ExitError, EXIT } from '../src/errors';

const newDb = () => path.join(tmpdir(), 'tw.db');
const BINS = ['launch', 'control', 'parse', 'task-admin', 'task-controller', 'task-worker'];

test('--version: every program prints the version package.json gives, and exits 0', async () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const name of BINS) {
    const r = await run(process.execPath, [bin(name), '--version'], {}, { timeoutMs: 30_000 });
    assert.deepEqual([name, r.code, r.stdout, r.stderr], [name, 0, `${version}\n`, '']);
  }
});

test('control -h and --help print the usage and exit 0', async () => {
  for (const flag of ['-h', '--help']) {
    const r = await run(process.execPath, [bin('control'), flag], {}, { timeoutMs: 30_000 });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^control \[--db FILE\]/);
    for (const o of ['--scale', '--pools', '--wait', '--logs', '--release', '--wide', '--yes', '--version']) assert.match(r.stdout, new RegExp(`${o}\\b`));
  }
});

test('launch --help explains every option launch takes, and runs nothing', async () => {
  const r = await run(process.execPath, [bin('launch'), '--help'], {}, { timeoutMs: 30_000 });
  assert.equal(r.code, 0);
  for (const o of [...VALUE, ...FLAG]) assert.match(r.stdout, new RegExp(`--${o}\\b`), `--help says nothing of --${o}`);
  assert.match(r.stdout, /^Exit status:/m);
  const db = newDb();
  assert.equal((await run(process.execPath, [bin('launch'), '--db', db, '-h', '--', 'touch', path.join(path.dirname(db), 'ran')], {}, { timeoutMs: 30_000 })).code, 0);
  assert.equal(fs.existsSync(path.join(path.dirname(db), 'ran')), false, '-h ran the command');
});

test('control --release gives back a reservation, its name too; a running or unknown task is a sentence', async () => {
  const t = tw(newDb());
  const id = (await t.control('--reserve', '--name', 'only', '--unique')).stdout.trim();
  const taken = await t.control('--reserve', '--name', 'only', '--unique');
  assert.equal(taken.code, 1);
  const r = await t.control('--release', id);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, `released task ${id}\n`, '']);
  assert.equal((await t.control('--list')).stdout, 'No tasks.\n');
  assert.equal((await t.control('--reserve', '--name', 'only', '--unique')).code, 0, 'the name is free again');
  const gone = await t.launch('--taskid', id, '--', 'true');
  assert.equal(gone.code, 125, 'a released id cannot be launched');
  assert.match(gone.stderr, new RegExp(`task ${id}`));
  assert.doesNotMatch(gone.stderr, /\n\s+at /);

  const again = await t.control('--release', id);
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`^control: there is no task ${id} in .*; nothing to release\\n$`));
  const json = await t.control('--json', '--release', (await t.control('--reserve')).stdout.trim());
  assert.equal(json.code, 0);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout)), ['released']);
  const bad = await t.control('--release', 'x');
  assert.equal(bad.code, 2);
});

test('control --release refuses a task that is running', async () => {
  const dir = tmpdir();
  const t = tw(path.join(dir, 'tw.db'));
  const go = path.join(dir, 'go');
  const l = run(process.execPath, [bin('launch'), '--db', t.db, '--', 'sh', '-c', `echo started > ${dir}/started; while [ ! -e ${go} ]; do sleep 0.05; done`], {}, { timeoutMs: 60_000 });
  await waitFor(() => fs.existsSync(path.join(dir, 'started')), 15_000, 'the task to start');
  const [e] = await t.json<Array<{ taskid: number }>>('--list');
  const r = await t.control('--release', String(e.taskid));
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`task ${e.taskid} is running, not reserved; stop it with --kill ${e.taskid}`));
  fs.writeFileSync(go, '');
  assert.equal((await l).code, 0);
});

/** control run at a terminal (a pty from script(1)), typing `typed`. */
const atTerminal = (db: string, args: string, typed: string) =>
  run('script', ['-qec', `${process.execPath} ${bin('control')} --db ${db} ${args}`, '/dev/null'], {}, { timeoutMs: 30_000, stdin: typed });

test('control --clear asks at a terminal: n keeps the history (exit 1), y clears it; --yes and a pipe do not ask', async () => {
  const t = tw(newDb());
  for (let i = 0; i < 3; i++) await t.launch('--', 'true');
  const no = await atTerminal(t.db, '--clear', 'n\n');
  assert.match(no.stdout, /Delete all 3 history rows of .*tw\.db\? \[y\/N\]/);
  assert.match(no.stdout, /history not cleared/);
  assert.equal(no.code, 1);
  assert.equal((await t.json<unknown[]>('--history')).length, 3);

  const yes = await atTerminal(t.db, '--clear', 'y\n');
  assert.match(yes.stdout, /Cleared 3 history rows\./);
  assert.equal(yes.code, 0);
  assert.equal((await t.json<unknown[]>('--history')).length, 0);

  await t.launch('--', 'true');
  const forced = await atTerminal(t.db, '--clear --yes', '');
  assert.doesNotMatch(forced.stdout, /\[y\/N\]/);
  assert.match(forced.stdout, /Cleared 1 history row\./);
  await t.launch('--', 'true');
  const piped = await t.control('--clear');
  assert.deepEqual([piped.code, piped.stdout], [0, 'Cleared 1 history row.\n']);
});

test("task-worker's options, parsed by hand: yargs' forms, the pool's default id, and bad ones a sentence with exit 2", async () => {
  const env = {};
  const base = { host: '127.0.0.1', feedback: undefined, log: undefined, verbose: false, slacker: false, slackSec: 20, help: false, version: false };
  assert.deepEqual(parseWorkerArgs(['-p', '4000', '-w', 'a'], env), { ...base, port: 4000, workerId: 'a' });
  assert.deepEqual(parseWorkerArgs(['--port=4000', '--worker=b', '-vs', '--slack', '1.5', '--host', '10.0.0.1', '--log', 'x.log'], env), { ...base, port: 4000, workerId: 'b', verbose: true, slacker: true, slackSec: 1.5, host: '10.0.0.1', log: 'x.log' });
  assert.deepEqual(parseWorkerArgs(['-vp4000'], { TASKWATCH_POOL: 'fleet', TASKWATCH_INSTANCE: '3' }), { ...base, port: 4000, workerId: 'fleet.3', verbose: true });
  assert.equal(parseWorkerArgs(['-h'], env).help, true, '-h needs no -p');
  for (const [argv, msg] of [
    [[], /-p PORT is needed/],
    [['-p', '4000'], /-w WORKER_ID is needed outside a taskwatch pool/],
    [['-p', '0x10', '-w', 'a'], /-p needs a TCP port number, got 0x10/],
    [['-p', '4000', '-w', 'a'.repeat(32)], /-w needs a worker id of 1 to 31 bytes/],
    [['-p', '4000', '-w', 'a', '--slack', 'soon'], /--slack needs a number of seconds; got 'soon'/],
    [['-p', '4000', '-w', 'a', '-x'], /unknown option -x/],
    [['-p', '4000', '-w', 'a', '--verbose=yes'], /--verbose takes no value/],
    [['-p', '4000', '-w', 'a', 'extra'], /takes no arguments besides its options; got 'extra'/],
    [['-p'], /-p needs a value/],
  ] as const) {
    assert.throws(() => parseWorkerArgs([...argv], env), (e: unknown) => e instanceof ExitError && e.exitCode === EXIT.usage && msg.test(e.message), argv.join(' '));
  }
  const r = await run(process.execPath, [bin('task-worker'), '-p', '4000', '--frobnicate'], {}, { timeoutMs: 30_000 });
  assert.deepEqual([r.code, r.stdout], [2, '']);
  assert.match(r.stderr, /^task-worker: unknown option --frobnicate \(task-worker --help lists the options\)\n$/);
});
