import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, bin, run, start, waitFor } from './helpers';
import { fresh, pgSkip, type Fresh } from './backends';

// Several hosts on one registry in PostgreSQL. A "host" is a TASKWATCH_HOST identity; as root, the
// other host's control also runs in a PID namespace of its own (unshare), where the launcher's pids
// do not exist: a kill that arrives there can only have travelled through PostgreSQL.

const skip = pgSkip();
const ownPidNamespace = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

interface Live {
  taskid: number;
  name: string;
  pid: number | null;
  status: string;
  timer: number | null;
  host: string | null;
}
interface Hist {
  taskid: number;
  outcome: string;
  termerror: string | null;
  host: string | null;
}

/** control as another host: its own TASKWATCH_HOST, and where possible its own PID namespace. */
function controlOn(t: Fresh, host: string, ...args: string[]) {
  const argv = [process.execPath, bin('control'), ...args];
  const cmd = ownPidNamespace ? ['unshare', '--pid', '--fork', '--mount-proc', ...argv] : argv;
  return run(cmd[0], cmd.slice(1), { ...t.env, TASKWATCH_HOST: host }, { timeoutMs: 60_000 });
}

// As root, another host's control may also have a mount namespace of its own, where a directory
// holds other files than the launcher's host sees under the same path.
const ownMounts = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tw /mnt']).status === 0;

const launchOn = (t: Fresh, host: string, ...args: string[]) => start(process.execPath, [bin('launch'), ...args], { ...t.env, TASKWATCH_HOST: host });

const readPid = async (file: string): Promise<number> => Number(await waitFor(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim(), 15_000, `pid in ${file}`));

test('a kill from another host travels through PostgreSQL: the launcher hears it, ends its task and archives it; control waits for the archive', { skip }, async () => {
  const t = await fresh('postgres');
  const pidfile = path.join(t.dir, 'c.pid');
  const l = launchOn(t, 'alpha', '--name', 'far', '--', 'sh', '-c', `echo $$ > ${pidfile}; exec sleep 300`);
  const child = await readPid(pidfile);
  const id = (await waitFor(async () => (await t.json<Live[]>('--list')).find((e) => e.pid === child))).taskid;
  const k = await controlOn(t, 'beta', '--kill', String(id), '--grace', '2');
  assert.equal(k.code, 0, k.stderr);
  assert.equal(k.stdout, `task ${id} killed and archived (outcome killed)\n`);
  assert.equal(await l.exited, 143);
  assert.equal(alive(child), false);
  const [h] = await t.json<Hist[]>('--history');
  assert.deepEqual([h.taskid, h.outcome, h.host], [id, 'killed', 'alpha']);
  assert.match(h.termerror!, /killed by control --kill \(pid \d+\) on beta/);
});

test('LOST across hosts: the lock decides; another host may not touch the processes (--kill and --update say so), --forget archives; the task\'s own host can still end it', { skip }, async () => {
  const t = await fresh('postgres');
  const pids = [path.join(t.dir, 'a.pid'), path.join(t.dir, 'b.pid')];
  const ls = pids.map((f, i) => launchOn(t, 'alpha', '--name', `orphan${i}`, '--', 'sh', '-c', `echo $$ > ${f}; exec sleep 300`));
  const children = await Promise.all(pids.map(readPid));
  const ids = await waitFor(async () => {
    const live = await t.json<Live[]>('--list');
    // In launch order (the ids may come in either order: the launches race).
    return live.filter((e) => e.pid !== null).length === 2 && [0, 1].map((i) => live.find((e) => e.name === `orphan${i}`)!.taskid);
  }, 15_000, 'both tasks running');
  for (const l of ls) l.kill('SIGKILL');
  await Promise.all(ls.map((l) => l.exited));
  // PostgreSQL freed the locks when the launchers' connections died: LOST, for every host.
  await waitFor(async () => (await t.json<Live[]>('--list')).every((e) => e.status === 'LOST'), 15_000, 'LOST');
  const fromBeta = await controlOn(t, 'beta', '--list', '--json');
  assert.deepEqual((JSON.parse(fromBeta.stdout) as Live[]).map((e) => [e.status, e.host]), [['LOST', 'alpha'], ['LOST', 'alpha']], fromBeta.stderr);

  const k = await controlOn(t, 'beta', '--kill', String(ids[0]));
  assert.equal(k.code, 1);
  assert.equal(k.stderr, `control: task ${ids[0]} runs on host alpha and its launcher is gone (LOST): only launch or control on alpha may end its processes; control --forget ${ids[0]} archives it as lost without touching them\n`);
  const u = await controlOn(t, 'beta', '--update');
  assert.equal(u.code, 0);
  assert.match(u.stdout, /runs on host alpha and its launcher is gone \(LOST\)/);
  assert.ok(children.every(alive), 'nothing of alpha was signalled from beta');

  const f = await controlOn(t, 'beta', '--forget', String(ids[0]));
  assert.equal(f.code, 0, f.stderr);
  assert.equal(f.stdout, `task ${ids[0]} archived as lost; its processes on alpha were not touched\n`);
  assert.ok(alive(children[0]), '--forget leaves the processes alone');
  const [h] = await t.json<Hist[]>('--history');
  assert.deepEqual([h.taskid, h.outcome], [ids[0], 'lost']);
  assert.match(h.termerror!, /forgotten by control --forget \(pid \d+ on beta\)/);

  // On its own host, control proves the processes are the task's and ends them.
  const own = await run(process.execPath, [bin('control'), '--kill', String(ids[1]), '--grace', '2'], { ...t.env, TASKWATCH_HOST: 'alpha' });
  assert.equal(own.code, 0, own.stderr);
  assert.match(own.stdout, /control sent SIGTERM to its processes and archived it as killed/);
  await waitFor(() => !alive(children[1]), 15_000, 'the child ended by its own host');
  process.kill(children[0], 'SIGKILL');
  const again = await controlOn(t, 'beta', '--forget', String(ids[1]));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /task \d+ has already ended \(outcome killed\); nothing to forget/);
  assert.deepEqual(await t.json('--list'), []);
});

test('--wait on another host ends with the task, woken by LISTEN; --forget refuses a task whose launcher still holds it', { skip }, async () => {
  const t = await fresh('postgres');
  const go = path.join(t.dir, 'go');
  const l = launchOn(t, 'alpha', '--name', 'w', '--', 'sh', '-c', `while [ ! -e ${go} ]; do sleep 0.05; done; exit 3`);
  const id = (await waitFor(async () => (await t.json<Live[]>('--list')).find((e) => e.pid !== null))).taskid;
  const f = await controlOn(t, 'beta', '--forget', String(id));
  assert.equal(f.code, 1);
  assert.match(f.stderr, /still has its launcher \(pid \d+ on alpha\); stop it with --kill/);
  const argv = [process.execPath, bin('control'), '--wait', String(id)];
  const cmd = ownPidNamespace ? ['unshare', '--pid', '--fork', '--mount-proc', ...argv] : argv;
  const w = start(cmd[0], cmd.slice(1), { ...t.env, TASKWATCH_HOST: 'beta' });
  fs.writeFileSync(go, '');
  assert.equal(await l.exited, 3);
  const r = await w.result;
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, new RegExp(`task ${id} ended: exited, exit status 3`));
});

test('another host shows a watched task by its launcher\'s word and never opens that path here: a fresh file planted under it there saves no quiet task', { skip: skip || (!ownMounts && 'needs root for a mount namespace (unshare --mount)') }, async () => {
  const t = await fresh('postgres');
  const feed = path.join(t.dir, 'feed');
  fs.mkdirSync(feed);
  const chatty = launchOn(t, 'alpha', '--name', 'chatty', '--feedpath', feed, '--timeout', '30', '--', 'sh', '-c', 'while :; do echo "[beat]x" >> "$TASKWATCH_FEEDBACK"; sleep 0.2; done');
  const quiet = launchOn(t, 'alpha', '--name', 'quiet', '--feedpath', feed, '--timeout', '8', '--', 'sleep', '300');
  await waitFor(async () => (await t.json<Live[]>('--list')).filter((e) => e.pid !== null).length === 2, 15_000, 'both tasks running');
  const files = fs.readdirSync(feed);
  assert.equal(files.length, 2);
  // Beta sees its own directory at the same path, with a fresh file under each name.
  const plant = `mount -t tmpfs tw "$0" && for f in ${files.join(' ')}; do echo "[beat]planted" > "$0/$f"; done && exec "$@"`;
  const fromBeta = async () => {
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', plant, feed, process.execPath, bin('control'), '--list', '--json'], { ...t.env, TASKWATCH_HOST: 'beta' }, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Live[];
  };
  // The quiet task's launcher records SILENT at 2 s and STALLED at 4 s, and kills it at 8 s.
  const seen = await waitFor(async () => {
    const live = await fromBeta();
    const q = live.find((e) => e.name === 'quiet');
    return q && (q.status === 'SILENT' || q.status === 'STALLED') && live;
  }, 15_000, "beta showing the quiet task's SILENT or STALLED");
  const q = seen.find((e) => e.name === 'quiet')!;
  assert.ok(q.timer !== null && q.timer >= 2, `quiet since its start, by the launcher's record: ${q.timer}`);
  const c = seen.find((e) => e.name === 'chatty')!;
  assert.deepEqual([c.status, c.timer], ['RUNNING', null], 'RUNNING by its launcher; the quiet time of a running task elsewhere is not known here');
  assert.equal(await quiet.exited, 124);
  chatty.kill('SIGTERM');
  await chatty.exited;
});
