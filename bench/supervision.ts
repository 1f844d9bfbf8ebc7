// The supervision figures of npm run bench: restarts, scaling a pool, a pool's memory beside pm2 and
// supervisord holding the same 20 processes, and how soon control --wait wakes.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { background, bin, median, memoryOf, sleep, spread, timed, until, type Figure, type Memory } from './lib';

const ms = (x: number) => `${x.toFixed(1)} ms`;
const mb = (kb: number) => `${(kb / 1024).toFixed(2)} MB`;
/** The wall clock in ms with microseconds, comparable to Perl's Time::HiRes::time. */
const nowMs = () => performance.timeOrigin + performance.now();
/** A child that says when it started and when it is about to exit (epoch seconds, microseconds). */
const STAMPS = 'use Time::HiRes qw(time); $| = 1; printf "s %.6f\\n", time; printf "e %.6f\\n", time; exit 1';

/** Child exit to the next child's start, under launch --restart always --backoff 0. */
export async function restartLatency(scratch: string, restarts: number): Promise<Figure> {
  const env = { TASKWATCH_DB: path.join(scratch, 'restart.db') };
  const r = await timed(bin('launch'), ['--restart', 'always', '--max-restarts', String(restarts), '--backoff', '0', '--', 'perl', '-e', STAMPS], env);
  const lines = r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([k, t]) => ({ k, t: Number(t) * 1000 }));
  const gaps: number[] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) if (lines[i].k === 'e' && lines[i + 1].k === 's') gaps.push(lines[i + 1].t - lines[i].t);
  if (gaps.length !== restarts) throw new Error(`expected ${restarts} restarts, saw ${gaps.length}: ${r.stderr.slice(-300)}`);
  // Perl's own start-up is in every gap; measured alone so that the reader can take it out.
  const perl: number[] = [];
  for (let i = 0; i < 7; i++) perl.push((await timed('perl', ['-e', '0'])).ms);
  const m = median(gaps);
  return {
    name: 'Restart latency: child exit to the next child started (`--restart always --backoff 0`)',
    value: spread(gaps, ms),
    target: '<= 100 ms',
    pass: m <= 100,
    how: `${restarts} restarts of a Perl one-liner that stamps its start and its exit; each gap holds launch's archive of the run, the next spawn with its cgroup, and Perl's own start-up (about ${ms(median(perl))} on its own)`,
  };
}

const registryOf = (scratch: string, name: string) => ({ TASKWATCH_DB: path.join(scratch, `${name}.db`) });
const control = (env: NodeJS.ProcessEnv, ...args: string[]) => timed(bin('control'), args, env);

async function supervisorOf(env: NodeJS.ProcessEnv, pool: string): Promise<number> {
  return until(async () => {
    const p = (JSON.parse((await control(env, '--pools', '--json')).stdout) as Array<{ name: string; supervisor_pid: number | null }>).find((x) => x.name === pool);
    return p?.supervisor_pid ?? 0;
  }, 15_000, `pool ${pool}'s supervisor`);
}

/** control --scale P 20 on a pool at 0, from the command's start to its return (all 20 running). */
export async function scaleUp(scratch: string, runs: number): Promise<Figure> {
  const env = registryOf(scratch, 'scale');
  const made = await control(env, '--scale', 'p', '0', '--', 'sleep', '3600');
  if (made.code !== 0) throw new Error(made.stderr);
  const took: number[] = [];
  for (let i = 0; i < runs; i++) {
    const up = await control(env, '--scale', 'p', '20');
    if (up.code !== 0) throw new Error(`--scale p 20: ${up.stderr}`);
    took.push(up.ms);
    const down = await control(env, '--scale', 'p', '0');
    if (down.code !== 0) throw new Error(`--scale p 0: ${down.stderr}`);
  }
  await control(env, '--delete-pool', 'p');
  const m = median(took);
  return {
    name: 'Scale a pool from 0 to 20 `sleep` instances (`control --scale p 20`)',
    value: spread(took, ms),
    target: '<= 2 s',
    pass: m <= 2000,
    how: `${runs} runs, each from control's start until it returns with all 20 running (it waits for them): control's start-up, a new supervisor process, 20 tasks registered and spawned into their cgroups`,
  };
}

/** Five samples of a process's memory, 300 ms apart, after `settleMs`. */
async function sampled(pid: number, settleMs: number): Promise<Memory[]> {
  await sleep(settleMs);
  const out: Memory[] = [];
  for (let i = 0; i < 5; i++) {
    out.push(memoryOf(pid));
    await sleep(300);
  }
  return out;
}

interface Holder {
  name: string;
  /** The supervising process's memory holding 1 and then 20 `sleep 3600`; null when the peer is not installed. */
  one: Memory[];
  twenty: Memory[];
  note: string;
}

async function ours(scratch: string, settleMs: number): Promise<Holder> {
  const env = registryOf(scratch, 'memory');
  let one: Memory[];
  let twenty: Memory[];
  try {
    await control(env, '--scale', 'm', '1', '--', 'sleep', '3600');
    const pid = await supervisorOf(env, 'm');
    one = await sampled(pid, settleMs);
    await control(env, '--scale', 'm', '20');
    if ((await supervisorOf(env, 'm')) !== pid) throw new Error('the supervisor changed');
    twenty = await sampled(pid, settleMs);
  } finally {
    await control(env, '--delete-pool', 'm'); // the supervisor is detached: it would outlive the bench
  }
  return { name: 'taskwatch (one `launch --pool` process)', one, twenty, note: 'instance output to a rotated file each, as pools do by default' };
}

/** Where pm2 is: bench/.peers (npm run bench installs it there), else on PATH. */
export function pm2Bin(): string | null {
  const local = path.join(__dirname, '..', '..', 'bench', '.peers', 'node_modules', '.bin', 'pm2');
  if (fs.existsSync(local)) return local;
  return spawnSync('sh', ['-c', 'command -v pm2'], { encoding: 'utf8' }).stdout.trim() || null;
}

async function pm2(scratch: string, settleMs: number): Promise<Holder | string> {
  const pm2 = pm2Bin();
  if (!pm2) return 'pm2 is not installed (npm run bench installs it in bench/.peers)';
  const home = path.join(scratch, 'pm2');
  const env = { PM2_HOME: home };
  const version = (await timed(pm2, ['--version'], env)).stdout.trim().split('\n').pop();
  const at = async (n: number): Promise<Memory[]> => {
    const eco = path.join(scratch, `pm2-${n}.config.json`);
    fs.writeFileSync(eco, JSON.stringify({ apps: Array.from({ length: n }, (_, i) => ({ name: `s${i}`, script: 'sleep', args: '3600', interpreter: 'none', autorestart: true })) }));
    const started = await timed(pm2, ['start', eco], env);
    if (started.code !== 0) throw new Error(`pm2 start: ${started.stderr}`);
    try {
      const pid = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
      await until(() => childrenOf(pid).length === n, 15_000, `pm2's ${n} processes`);
      return await sampled(pid, settleMs);
    } finally {
      await timed(pm2, ['kill'], env);
    }
  };
  return { name: `pm2 ${version} (its God daemon)`, one: await at(1), twenty: await at(20), note: 'fork mode, interpreter none, logs to files (its defaults)' };
}

async function supervisord(scratch: string, settleMs: number): Promise<Holder | string> {
  const which = spawnSync('sh', ['-c', 'command -v supervisord'], { encoding: 'utf8' }).stdout.trim();
  if (!which) return "supervisord is not installed (Debian's supervisor package; npm run bench installs it as root)";
  const version = spawnSync(which, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const at = async (n: number): Promise<Memory[]> => {
    const dir = fs.mkdtempSync(path.join(scratch, `supervisord-${n}-`));
    const conf = path.join(dir, 'supervisord.conf');
    fs.writeFileSync(conf, [
      '[supervisord]', 'nodaemon=true', `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}`, 'user=root',
      '[program:s]', 'command=sleep 3600', `numprocs=${n}`, 'process_name=%(program_name)s_%(process_num)02d', 'autorestart=true', '',
    ].filter((l) => process.getuid?.() === 0 || l !== 'user=root').join('\n'));
    const p = background(which, ['-c', conf]);
    try {
      await until(() => childrenOf(p.pid!).length === n, 15_000, `supervisord's ${n} processes`);
      return await sampled(p.pid!, settleMs);
    } finally {
      p.kill('SIGTERM'); // supervisord stops its children on SIGTERM
      await p.exited;
    }
  };
  return { name: `supervisord ${version}`, one: await at(1), twenty: await at(20), note: 'numprocs, child logs to files (its defaults)' };
}

function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * The supervising process of each system holding 20 `sleep 3600` (the sleeps themselves are the same
 * in all three and not counted). Judged on each one's own data (anonymous memory), which does not
 * depend on what else runs; its program's pages are shown beside, and PSS and RSS as measured.
 */
export async function poolMemory(scratch: string): Promise<Figure[]> {
  const settle = 3000;
  const holders: Array<Holder | string> = [await ours(scratch, settle), await pm2(scratch, settle), await supervisord(scratch, settle)];
  const measured = holders.filter((h): h is Holder => typeof h !== 'string');
  const per = (h: Holder, k: keyof Memory) => h.twenty.map((x) => x[k] / 20);
  const extra = (h: Holder, k: keyof Memory) => h.twenty.map((x, i) => (x[k] - h.one[i][k]) / 19);
  const at = (h: Holder, k: keyof Memory) => mb(median(per(h, k)));
  const line = (h: Holder) =>
    `**${h.name}**: own data ${spread(per(h, 'anon'), mb)} per process, its program's pages ${at(h, 'file')} more (PSS ${at(h, 'pss')}, RSS ${at(h, 'rss')}); beyond the first, ${mb(median(extra(h, 'anon')))} of own data each`;
  const [tw] = measured;
  const sup = measured.find((h) => h.name.startsWith('supervisord'));
  const ourPer = median(per(tw, 'anon'));
  const supPer = sup ? median(per(sup, 'anon')) : null;
  const missing = holders.filter((h): h is string => typeof h === 'string');
  return [
    {
      name: 'Pool of 20 `sleep`: memory of what supervises them, per process, beside pm2 and supervisord',
      value: [...measured.map(line), ...missing].join('<br>'),
      target: "own data <= supervisord's",
      pass: supPer !== null && ourPer <= supPer,
      how: `each system's supervising process alone (${measured.map((h) => `${h.name.split(' ')[0]}: ${h.note}`).join('; ')}), holding 20, 5 samples ${settle / 1000} s after its processes ran. Own data is anonymous memory (heaps, stacks); a program's pages are shared by every process running it, so Node's 30-40 MB binary weighs on RSS (and on PSS when no other Node process runs) and not on own data: see the note below`,
    },
    {
      name: 'Pool: memory each instance beyond the first adds to its supervisor',
      value: `${spread(extra(tw, 'pss'), mb)} PSS (own data ${mb(median(extra(tw, 'anon')))})`,
      target: '<= 0.5 MB',
      pass: median(extra(tw, 'pss')) <= 0.5 * 1024,
      how: '(supervisor holding 20 − holding 1) / 19, sample by sample',
    },
  ];
}

/** From a task's last act before its exit to control --wait's exit. */
export async function waitLatency(scratch: string, runs: number): Promise<Figure> {
  const env = registryOf(scratch, 'wait');
  const lat: number[] = [];
  for (let i = 0; i < runs; i++) {
    const go = path.join(scratch, `go-${i}`);
    const task = spawn(bin('launch'), ['--', 'perl', '-e', 'use Time::HiRes qw(time sleep); $| = 1; sleep 0.001 until -e $ARGV[0]; printf "%.6f\\n", time; exit 0', go], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    task.stdout.on('data', (d) => (out += d));
    task.stderr.on('data', (d) => (err += d));
    const closed = new Promise((r) => task.on('close', r));
    const id: string = await until(() => /taskid (\d+)/.exec(err)?.[1] ?? '', 15_000, 'the task id');
    const waiter = spawn(bin('control'), ['--wait', id], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const woke = new Promise<number>((resolve) => waiter.on('exit', () => resolve(nowMs())));
    await sleep(700); // --wait has opened the registry and set its watches by now; an early go only makes this run slower
    fs.writeFileSync(go, '');
    const at = await woke;
    await closed;
    lat.push(at - Number(out.trim()) * 1000);
  }
  const m = median(lat);
  return {
    name: '`control --wait ID` wake-up: the task\'s exit to the wait\'s exit',
    value: spread(lat, ms),
    target: '<= 50 ms',
    pass: m <= 50,
    how: `${runs} runs; from the task's last stamp before it exits, through launch's archive, to the waiting control process's exit (inotify on the registry and a pidfd on the launcher wake it)`,
  };
}
