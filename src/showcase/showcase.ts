import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

// `npm run demo`: the epoll_demo fleet run as watched tasks. Everything here goes through the real
// commands (launch, control, task-admin, task-controller, task-worker), as a person would type them.

export interface ShowcaseOptions {
  keep: boolean;
  tasks: number;
  maxSleep: number;
  out: (line: string) => void;
  /** Where each of taskwatch's commands is: the showcase runs them as a person would. */
  binPath: (name: string) => string;
}

interface Launched {
  name: string;
  proc: ChildProcess;
  taskid: Promise<number>;
  exit: Promise<number | null>;
}

interface LiveRow {
  taskid: number;
  name: string;
  pid: number | null;
  status: string;
  restarts: number;
  pool: string | null;
  instance: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(binPath: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [binPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nothing listens on now, for a server that must be restarted on the same port. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function runShowcase(o: ShowcaseOptions): Promise<number> {
  const { binPath } = o;
  const capture = (cmd: string, args: string[]) => run(binPath(cmd), args);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskwatch-demo-'));
  const reg = path.join(dir, 'taskwatch.db');
  const tasksDb = path.join(dir, 'tasks.db');
  const feed = path.join(dir, 'feedback');
  fs.mkdirSync(feed);
  const launched: Launched[] = [];
  const say = (s: string) => o.out(`\n== ${s}`);
  const control = (...args: string[]) => capture('control', ['--db', reg, ...args]);
  const live = async (): Promise<LiveRow[]> => JSON.parse((await control('--list', '--json')).stdout || '[]') as LiveRow[];
  const showList = async () => o.out((await control('--list')).stdout.trimEnd());

  /** launch --db REG --name NAME --feedpath FEED --timeout 3 -- node BIN ARGS */
  const launchTask = (name: string, grace: number, cmd: string, args: string[]): Launched => {
    const proc = spawn(process.execPath, [binPath('launch'), '--db', reg, '--name', name, '--feedpath', feed, '--timeout', '3', '--grace', String(grace), '--', process.execPath, binPath(cmd), ...args], {
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let err = '';
    const taskid = new Promise<number>((resolve, reject) => {
      proc.stderr!.on('data', (d) => {
        err += d;
        const m = /taskid (\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      proc.on('exit', () => reject(new Error(`${name} ended before it had a task id: ${err}`)));
    });
    taskid.catch(() => {});
    const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const l = { name, proc, taskid, exit };
    launched.push(l);
    return l;
  };
  const port = await freePort();
  const controllerArgs = ['-p', String(port), '-d', tasksDb, '--interval', '1', '--margin', '2'];
  const scale = ['--feedpath', feed, '--timeout', '3', '--grace', '1', '--restart', 'on-failure', '--backoff', '0.2:2'];
  const workerCmd = [process.execPath, binPath('task-worker'), '-p', String(port), '-v'];
  const instanceRow = async (n: number) => (await live()).find((r) => r.pool === 'workers' && r.instance === n);
  /** Polls control --list until `f` holds for instance n (printing each status it passes through), or throws. */
  const watchInstance = async (n: number, what: string, f: (r: LiveRow) => boolean): Promise<LiveRow> => {
    let last = '';
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const r = await instanceRow(n);
      const line = r && `workers.${n} is ${r.status}${r.pid ? ` (pid ${r.pid}, ${r.restarts} restart${r.restarts === 1 ? '' : 's'})` : ''}`;
      if (line && line !== last) o.out((last = line));
      if (r && f(r)) return r;
      await sleep(150);
    }
    throw new Error(`workers.${n} was not ${what} within 20 s`);
  };
  const showPools = async () => o.out((await control('--pools')).stdout.trimEnd());
  let pool = false;
  // A task of 3 s every 0.7 s: some task is always running, so the controller cannot finish (and exit)
  // while the demo still has workers and the controller itself to break.
  let feeding = true;
  let fed = 0;
  const trickle = async () => {
    while (feeding) {
      const r = await capture('task-admin', ['add', '-f', tasksDb, '--name', `fed_${++fed}`, '--sleep', '3']);
      if (r.code !== 0) o.out(`task-admin add failed: ${r.stderr.trim()}`);
      await sleep(700);
    }
  };
  let feeder = Promise.resolve();

  let ok = false;
  try {
    say(`a task database with ${o.tasks} tasks: task-admin create -f ${tasksDb} -n ${o.tasks} --max-sleep ${o.maxSleep}`);
    o.out((await capture('task-admin', ['create', '-f', tasksDb, '-n', String(o.tasks), '--max-sleep', String(o.maxSleep)])).stdout.trimEnd());

    say(`the controller, under launch --feedpath --timeout 3; registry ${reg}`);
    let controller = launchTask('task-controller', 2, 'task-controller', [...controllerArgs, '--log', path.join(dir, 'controller-1.log')]);
    await controller.taskid;

    say(`three workers as a pool, one supervisor for all: control --scale workers 3 ${scale.join(' ')} -- task-worker -p ${port} -v`);
    pool = true;
    const made = await control('--scale', 'workers', '3', ...scale, '--', ...workerCmd);
    o.out((made.stdout + made.stderr).trimEnd());
    if (made.code !== 0) throw new Error('the pool did not start');
    say('and a slacker on its own, under launch');
    launchTask('slacker', 1, 'task-worker', ['-p', String(port), '-w', 'slacker', '--log', path.join(dir, 'slacker.log'), '-s', '--slack', '4']);
    say(`work keeps arriving while we break things (task-admin add -f ${tasksDb} --name fed_N --sleep 3, every 0.7 s), so the controller never runs dry before the end`);
    feeder = trickle();
    await Promise.all(launched.map((l) => l.taskid));
    await sleep(2500);
    say('control --list');
    await showList();

    const stopped = await instanceRow(1);
    if (!stopped?.pid) throw new Error('workers.1 is not in control --list');
    say(`SIGSTOP workers.1 (pid ${stopped.pid}): a hung process stops heartbeating; its supervisor kills it at the timeout and starts it again`);
    process.kill(stopped.pid, 'SIGSTOP');
    await watchInstance(1, 'restarted', (r) => r.restarts >= 1 && r.pid !== null && r.pid !== stopped.pid && r.status === 'RUNNING');
    o.out("the controller saw workers.1's connection drop and redispatched its task");

    const victim = await instanceRow(2);
    if (!victim?.pid) throw new Error('workers.2 is not in control --list');
    say(`SIGKILL workers.2 (pid ${victim.pid}): a crash; the supervisor replaces it`);
    process.kill(victim.pid, 'SIGKILL');
    await watchInstance(2, 'replaced', (r) => r.restarts >= 1 && r.pid !== null && r.pid !== victim.pid && r.status === 'RUNNING');

    say('a fourth worker joins: control --scale workers 4');
    const grown = await control('--scale', 'workers', '4');
    o.out((grown.stdout + grown.stderr).trimEnd());
    say('control --pools');
    await showPools();
    const workerIds = (await live()).filter((r) => r.pool === 'workers').map((r) => String(r.taskid));

    say(`kill the controller (control --kill ${await controller.taskid}); the workers keep their tasks and retry every second`);
    const kill = await control('--kill', String(await controller.taskid), '--grace', '2');
    o.out((kill.stdout + kill.stderr).trimEnd());
    if (kill.code !== 0) throw new Error('the controller could not be killed');
    await sleep(1500);
    say('relaunch the controller');
    controller = launchTask('task-controller', 2, 'task-controller', [...controllerArgs, '--log', path.join(dir, 'controller-2.log')]);
    await controller.taskid;
    await sleep(2000);
    say(`control --feedback ${await controller.taskid}`);
    o.out((await control('--feedback', String(await controller.taskid))).stdout.trimEnd());
    say('control --list');
    await showList();

    feeding = false;
    await feeder;
    say(`no more work arrives; waiting for the rest to finish: control --wait ${workerIds.join(' ')} (a worker told to exit ends 0, which on-failure does not restart)`);
    let lastList = Date.now();
    const waited = control('--wait', ...workerIds, '--timeout', '120');
    const finished = Promise.all([...launched.map((l) => l.exit), waited]);
    const overall = Date.now() + 120_000;
    while ((await Promise.race([finished.then(() => true), sleep(500).then(() => false)])) === false) {
      if (Date.now() > overall) throw new Error('the fleet did not finish within 120 s');
      if (Date.now() - lastList > 5000) {
        await showList();
        lastList = Date.now();
      }
    }
    const w = await waited;
    o.out(`control --wait exited ${w.code}${w.stderr ? `: ${w.stderr.trim()}` : ''}; the controller exited ${await controller.exit}: no unfinished task was left`);

    say('control --pools');
    await showPools();
    const pools = JSON.parse((await control('--pools', '--json')).stdout) as Array<{ name: string; dead: number; stalled: number; restarts: number }>;
    say('control --scale workers 0, then --delete-pool workers: the supervisor ends with its pool');
    for (const args of [['--scale', 'workers', '0'], ['--delete-pool', 'workers']]) {
      const r = await control(...args);
      o.out((r.stdout + r.stderr).trimEnd());
    }
    pool = false;

    say(`task-admin check -f ${tasksDb}`);
    const check = await capture('task-admin', ['check', '-f', tasksDb]);
    o.out(check.stdout.trimEnd());
    say('control --history');
    o.out((await control('--history')).stdout.trimEnd());

    const rows = JSON.parse((await capture('task-admin', ['check', '-f', tasksDb, '--json'])).stdout) as Array<{ state_name: string }>;
    const unfinished = rows.filter((r) => r.state_name !== 'TaskSuccess').length;
    const hist = JSON.parse((await control('--history', '--json')).stdout) as Array<{ name: string; outcome: string; termsignal: string | null }>;
    const workers = hist.filter((h) => h.name === 'workers');
    const stall = workers.some((h) => h.outcome === 'timeout');
    const crash = workers.some((h) => h.outcome === 'signaled' && h.termsignal === 'SIGKILL');
    const p = pools.find((x) => x.name === 'workers');
    ok = unfinished === 0 && stall && crash && p !== undefined && p.stalled >= 1 && p.dead >= 2 && p.restarts >= 2;
    say(ok
      ? `all ${rows.length} tasks TaskSuccess; the stalled worker was killed on its heartbeat (outcome timeout) and restarted, the SIGKILLed one replaced`
      : `FAILED: ${unfinished} of ${rows.length} tasks not TaskSuccess; a stall archived: ${stall}; a SIGKILL archived: ${crash}; pool counts ${JSON.stringify(p)}`);
  } catch (err) {
    o.out(`\ndemo failed: ${(err as Error).message}`);
  } finally {
    feeding = false;
    await feeder;
    for (const l of launched) if (l.proc.exitCode === null && l.proc.signalCode === null) l.proc.kill('SIGTERM');
    // The pool's supervisor is detached (it outlives control --scale by design): end it, or it would outlive the demo.
    if (pool) await control('--delete-pool', 'workers');
    await Promise.race([Promise.all(launched.map((l) => l.exit)), sleep(5000)]);
    if (o.keep) o.out(`\nkept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}
