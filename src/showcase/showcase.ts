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
  const worker = (id: string, ...extra: string[]) => launchTask(id, 1, 'task-worker', ['-p', String(port), '-w', id, '--log', path.join(dir, `${id}.log`), ...extra]);

  let ok = false;
  try {
    say(`a task database with ${o.tasks} tasks: task-admin create -f ${tasksDb} -n ${o.tasks} --max-sleep ${o.maxSleep}`);
    o.out((await capture('task-admin', ['create', '-f', tasksDb, '-n', String(o.tasks), '--max-sleep', String(o.maxSleep)])).stdout.trimEnd());

    say(`the controller and three workers (worker-3 a slacker), each under launch --feedpath --timeout 3; registry ${reg}`);
    let controller = launchTask('task-controller', 2, 'task-controller', [...controllerArgs, '--log', path.join(dir, 'controller-1.log')]);
    await controller.taskid;
    const w1 = worker('worker-1');
    worker('worker-2');
    worker('worker-3', '-s', '--slack', '4');
    await Promise.all(launched.map((l) => l.taskid));
    await sleep(2500);
    say('control --list');
    await showList();

    const stalled = (await live()).find((r) => r.name === 'worker-1');
    if (!stalled?.pid) throw new Error('worker-1 is not in control --list');
    say(`SIGSTOP worker-1 (pid ${stalled.pid}): a hung process stops heartbeating`);
    process.kill(stalled.pid, 'SIGSTOP');
    const seen = new Set<string>();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const row = (await live()).find((r) => r.taskid === stalled.taskid);
      if (!row) break;
      if (!seen.has(row.status)) {
        seen.add(row.status);
        o.out(`worker-1 is ${row.status}`);
      }
      await sleep(150);
    }
    const w1code = await Promise.race([w1.exit, sleep(5000).then(() => 'still running')]);
    o.out(`worker-1's launcher killed it on its heartbeat timeout and exited ${w1code}; the controller sees the dropped connection and redispatches its task`);
    say('worker-4 joins');
    worker('worker-4');
    await sleep(2000);
    await showList();

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

    say('waiting for the work to finish');
    let lastList = Date.now();
    const finished = Promise.all(launched.map((l) => l.exit));
    const overall = Date.now() + 120_000;
    while ((await Promise.race([finished.then(() => true), sleep(500).then(() => false)])) === false) {
      if (Date.now() > overall) throw new Error('the fleet did not finish within 120 s');
      if (Date.now() - lastList > 5000) {
        await showList();
        lastList = Date.now();
      }
    }
    o.out(`the controller exited ${await controller.exit}: no unfinished task was left`);

    say(`task-admin check -f ${tasksDb}`);
    const check = await capture('task-admin', ['check', '-f', tasksDb]);
    o.out(check.stdout.trimEnd());
    say('control --history');
    o.out((await control('--history')).stdout.trimEnd());

    const rows = JSON.parse((await capture('task-admin', ['check', '-f', tasksDb, '--json'])).stdout) as Array<{ state_name: string }>;
    const unfinished = rows.filter((r) => r.state_name !== 'TaskSuccess').length;
    const hist = JSON.parse((await control('--history', '--json')).stdout) as Array<{ name: string; outcome: string }>;
    const w1Outcome = hist.find((h) => h.name === 'worker-1')?.outcome;
    ok = unfinished === 0 && w1Outcome === 'timeout';
    say(ok
      ? `all ${rows.length} tasks TaskSuccess; the stalled worker was killed on its heartbeat (outcome timeout)`
      : `FAILED: ${unfinished} of ${rows.length} tasks not TaskSuccess; worker-1 outcome ${w1Outcome}`);
  } catch (err) {
    o.out(`\ndemo failed: ${(err as Error).message}`);
  } finally {
    for (const l of launched) if (l.proc.exitCode === null && l.proc.signalCode === null) l.proc.kill('SIGTERM');
    await Promise.race([Promise.all(launched.map((l) => l.exit)), sleep(5000)]);
    if (o.keep) o.out(`\nkept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}
