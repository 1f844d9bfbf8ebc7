// Pools: N instances of a command kept alive by one supervisor process, without a daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, tmpdir, tw, waitFor } from './helpers';
import { eachBackend } from './backends';

interface Live {
  taskid: number;
  pid: number | null;
  status: string;
  pool: string | null;
  instance: number | null;
  restarts: number;
}
interface PoolEntry {
  name: string;
  desired: number;
  active: number;
  supervisor_pid: number | null;
  dead: number;
  restarts: number;
}
interface Hist {
  taskid: number;
  outcome: string;
  termerror: string | null;
}

function setup() {
  const dir = tmpdir();
  const t = tw(path.join(dir, 'tw.db'));
  const instances = async (name: string) => (await t.json<Live[]>('--list')).filter((e) => e.pool === name && e.pid !== null && e.status !== 'BACKOFF');
  const pool = async (name: string) => (await t.json<PoolEntry[]>('--pools')).find((p) => p.name === name);
  return { dir, ...t, instances, pool };
}

test('a pool scaled 0 -> 5 -> 2 -> 0 has the right instances alive at each step, under one supervisor', async (ctx) => {
  const t = setup();
  ctx.after(() => t.control('--scale', 'web', '0'));
  const made = await t.control('--scale', 'web', '0', '--', 'sleep', '300');
  assert.deepEqual([made.code, made.stdout], [0, 'pool web made: 0 of 0 running\n']);
  const five = await t.control('--scale', 'web', '5');
  assert.deepEqual([five.code, five.stdout], [0, 'pool web scaled: 5 of 5 running (was 0)\n'], five.stderr);
  const at5 = await t.instances('web');
  assert.deepEqual(at5.map((e) => e.instance).sort(), [1, 2, 3, 4, 5]);
  assert.ok(at5.every((e) => alive(e.pid!)));
  const supervisor = (await t.pool('web'))!.supervisor_pid!;
  assert.ok(alive(supervisor), 'one supervisor for the pool');
  const two = await t.control('--scale', 'web', '2');
  assert.equal(two.stdout, 'pool web scaled: 2 of 2 running (was 5)\n');
  const at2 = await t.instances('web');
  assert.deepEqual(at2.map((e) => e.instance).sort(), [1, 2]);
  assert.deepEqual(at2.map((e) => e.pid), at5.filter((e) => e.instance! <= 2).map((e) => e.pid), 'the first two kept running');
  for (const e of at5.filter((x) => x.instance! > 2)) assert.equal(alive(e.pid!), false, `instance ${e.instance} stopped`);
  const hist = await t.json<Hist[]>('--history');
  assert.equal(hist.length, 3);
  assert.ok(hist.every((h) => h.outcome === 'killed' && /pool web scaled to 2/.test(h.termerror!)));
  const zero = await t.control('--scale', 'web', '0');
  assert.equal(zero.stdout, 'pool web scaled: 0 of 0 running (was 2)\n');
  for (const e of at2) assert.equal(alive(e.pid!), false);
  await waitFor(() => !alive(supervisor), 15_000, 'the supervisor to end with its last instance');
  const del = await t.control('--delete-pool', 'web');
  assert.deepEqual([del.code, del.stdout], [0, 'pool web deleted\n']);
  assert.deepEqual(await t.json('--pools'), []);
});

test('an instance SIGKILLed is started again; the pool counts it', async (ctx) => {
  const t = setup();
  ctx.after(() => t.control('--scale', 'svc', '0'));
  assert.equal((await t.control('--scale', 'svc', '2', '--backoff', '0.1', '--', 'sleep', '300')).code, 0);
  const [victim] = await t.instances('svc');
  process.kill(victim.pid!, 'SIGKILL');
  const again = await waitFor(async () => (await t.instances('svc')).find((e) => e.instance === victim.instance && e.pid !== victim.pid), 15_000, 'a new process for the instance');
  assert.equal(again.taskid, victim.taskid, 'the same task, its next run');
  assert.equal(again.restarts, 1);
  const p = (await t.pool('svc'))!;
  assert.deepEqual([p.active, p.dead, p.restarts], [2, 1, 1]);
});

test('a SIGKILLed supervisor: its instances run on unwatched until the next control --pools, which ends them and starts fresh ones', async (ctx) => {
  const t = setup();
  ctx.after(() => t.control('--scale', 'orph', '0'));
  assert.equal((await t.control('--scale', 'orph', '3', '--grace', '1', '--', 'sleep', '300')).code, 0);
  const old = await t.instances('orph');
  const supervisor = (await t.pool('orph'))!.supervisor_pid!;
  process.kill(supervisor, 'SIGKILL');
  await waitFor(() => !alive(supervisor), 15_000);
  assert.ok(old.every((e) => alive(e.pid!)), 'the orphans run on');
  const healed = await t.control('--pools');
  assert.match(healed.stderr, /pool orph had lost its supervisor; a new one ends its orphans and starts fresh instances/);
  const fresh = await waitFor(async () => {
    const now = await t.instances('orph');
    return now.length === 3 && now.every((e) => !old.some((o) => o.taskid === e.taskid)) && now;
  }, 20_000, 'three fresh instances');
  for (const o of old) assert.equal(alive(o.pid!), false, `orphan ${o.pid} ended`);
  assert.deepEqual(fresh.map((e) => e.instance).sort(), [1, 2, 3]);
  const newSupervisor = (await t.pool('orph'))!.supervisor_pid!;
  assert.notEqual(newSupervisor, supervisor);
  const hist = await t.json<Hist[]>('--history');
  assert.equal(hist.filter((h) => /ended by pool orph's new supervisor/.test(h.termerror ?? '')).length, 3);
});

test('--scale refuses what it cannot do, in a sentence', async () => {
  const t = setup();
  await t.control('--initialize');
  const cases: Array<[string[], number, RegExp]> = [
    [['--scale', 'a/b', '2', '--', 'true'], 2, /--scale needs a pool name of letters, digits/],
    [['--scale', 'p', 'many', '--', 'true'], 2, /--scale needs a number of instances from 0 to 10000; got 'many'/],
    [['--scale', 'p'], 2, /--scale takes a pool name and a number of instances/],
    [['--scale', 'p', '1'], 1, /there is no pool p; make it with its command after --/],
    [['--list', '--', 'sleep', '1'], 2, /a command after -- goes with --scale NAME N/],
    [['--scale', 'p', '1', '--timeout', '5', '--', 'true'], 2, /--timeout is the instances' heartbeat timeout and needs --feedpath DIR/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await t.control(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  assert.equal((await t.control('--scale', 'q', '0', '--', 'sleep', '1')).code, 0);
  const other = await t.control('--scale', 'q', '1', '--', 'sleep', '2');
  assert.match(other.stderr, /pool q runs \["sleep","1"\]; to run something else, scale it to 0 and --delete-pool it first/);
  const opts = await t.control('--scale', 'q', '1', '--grace', '3');
  assert.match(opts.stderr, /pool q's options are fixed when it is made \(--grace given\)/);
});

test('instances that finish (exit 0 under on-failure) or run out of restarts stay down, under the same supervisor, until --scale asks again', async (ctx) => {
  const t = setup();
  ctx.after(async () => {
    await t.control('--scale', 'fin', '0');
    await t.control('--scale', 'bad', '0');
  });
  const go = path.join(t.dir, 'go');
  // Each instance says who it is (TASKWATCH_POOL.TASKWATCH_INSTANCE), then waits for the go-file, then ends.
  const body = (code: number) => `echo "$TASKWATCH_POOL.$TASKWATCH_INSTANCE" > ${t.dir}/$TASKWATCH_POOL.$TASKWATCH_INSTANCE.$$; while [ ! -e ${go} ]; do sleep 0.05; done; exit ${code}`;
  assert.equal((await t.control('--scale', 'fin', '2', '--restart', 'on-failure', '--', 'sh', '-c', body(0))).code, 0);
  assert.equal((await t.control('--scale', 'bad', '2', '--restart', 'on-failure', '--max-restarts', '1', '--backoff', '0', '--', 'sh', '-c', body(3))).code, 0);
  const supervisors = [(await t.pool('fin'))!.supervisor_pid!, (await t.pool('bad'))!.supervisor_pid!];
  fs.writeFileSync(go, '');
  const log = (name: string) => fs.readFileSync(path.join(t.dir, 'logs', `${name}.pool.log`), 'utf8');
  await waitFor(() => (log('fin').match(/finished \(exit 0, not restarted by its rule\); it stays down/g) ?? []).length === 2, 20_000, 'both fin instances to finish');
  await waitFor(() => (log('bad').match(/gave up \(its restarts ran out\); it stays down/g) ?? []).length === 2, 20_000, 'both bad instances to give up');
  const pools = await t.control('--pools', '--json');
  assert.equal(pools.stderr, '', 'no supervisor had to be started again');
  const entries = JSON.parse(pools.stdout) as PoolEntry[];
  assert.deepEqual(entries.map((p) => [p.name, p.desired, p.active, p.supervisor_pid]), [['bad', 2, 0, supervisors[1]], ['fin', 2, 0, supervisors[0]]]);
  assert.ok(supervisors.every(alive), 'the supervisors wait, with nothing to watch');
  assert.deepEqual(await t.instances('fin'), []);
  const hist = await t.json<Array<Hist & { name: string; run: number; exitcode: number | null }>>('--history');
  assert.deepEqual(hist.filter((h) => h.name === 'bad').map((h) => [h.run, h.exitcode]).sort(), [[1, 3], [1, 3], [2, 3], [2, 3]]);
  assert.deepEqual(hist.filter((h) => h.name === 'fin').map((h) => h.exitcode), [0, 0]);
  const said = fs.readdirSync(t.dir).filter((f) => f.startsWith('fin.')).map((f) => fs.readFileSync(path.join(t.dir, f), 'utf8').trim()).sort();
  assert.deepEqual(said, ['fin.1', 'fin.2'], 'each instance was told its pool and number');
  // Asked again: the same supervisor starts them afresh.
  fs.rmSync(go);
  const again = await t.control('--scale', 'fin', '2');
  assert.deepEqual([again.code, again.stdout], [0, 'pool fin kept: 2 of 2 running\n'], again.stderr);
  assert.equal((await t.pool('fin'))!.supervisor_pid, supervisors[0]);
});

eachBackend('control --kill of one instance ends that instance only: the supervisor (every instance\'s launcher) stays, and puts a new one in its place', async (f) => {
  const instances = async () => (await f.json<Live[]>('--list')).filter((e) => e.pool === 'web' && e.pid !== null && e.status !== 'BACKOFF');
  const pool = async () => (await f.json<PoolEntry[]>('--pools')).find((p) => p.name === 'web');
  try {
    assert.equal((await f.control('--scale', 'web', '3', '--', 'sleep', '300')).code, 0);
    const before = await waitFor(async () => {
      const l = await instances();
      return l.length === 3 && l;
    }, 15_000, '3 instances');
    const supervisor = (await pool())!.supervisor_pid!;
    const victim = before[0];
    const k = await f.control('--kill', String(victim.taskid), '--grace', '1');
    assert.equal(k.code, 0, k.stderr);
    assert.equal(k.stdout, `task ${victim.taskid} killed and archived (outcome killed)\n`);
    await waitFor(() => !alive(victim.pid!), 15_000, 'the killed instance gone');
    const after = await waitFor(async () => {
      const l = await instances();
      return l.length === 3 && !l.some((e) => e.taskid === victim.taskid) && l;
    }, 15_000, 'a new instance in its place');
    assert.deepEqual(before.slice(1).map((e) => e.pid), after.filter((e) => e.instance !== victim.instance).map((e) => e.pid), 'the others untouched');
    assert.ok(before.slice(1).every((e) => alive(e.pid!)));
    assert.equal((await pool())!.supervisor_pid, supervisor, 'the same supervisor');
    assert.ok(alive(supervisor));
  } finally {
    await f.control('--delete-pool', 'web');
  }
});
