// npm run bench -- --peers: taskwatch beside GNU timeout, nq, supervisord and pm2 on the same work, in
// the same run, run alternately, as ratios. bench/peers.sh installs what is missing (pm2 into
// bench/.peers; Debian's nq and supervisor as root); a peer that cannot be had is said, not fatal.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { background, bin, median, spread, timed, until, untilRunning, type Done, type Figure } from './lib';
import { pm2Bin } from './supervision';

const node = process.execPath;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null;

interface Contender {
  name: string;
  run: () => Promise<Done>;
}

/** Runs each contender once per round, in turn, `runs` rounds; a failed run stops the bench with its output. */
async function alternate(cs: Contender[], runs: number): Promise<Map<string, number[]>> {
  const t = new Map<string, number[]>(cs.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of cs) {
      const r = await c.run();
      if (r.code !== 0) throw new Error(`${c.name} exited ${r.code}: ${r.stderr.slice(-300)}`);
      t.get(c.name)!.push(r.ms);
    }
  }
  return t;
}

/** pm2 with its own home in the scratch directory, its daemon started (and killed at the end). */
async function pm2Home(scratch: string): Promise<{ bin: string; env: NodeJS.ProcessEnv; version: string; stop: () => Promise<void> } | string> {
  const pm2 = pm2Bin();
  if (!pm2) return 'pm2: not installed (bench/peers.sh puts it in bench/.peers)';
  const env = { PM2_HOME: fs.mkdtempSync(path.join(scratch, 'pm2-')) };
  const version = (await timed(pm2, ['--version'], env)).stdout.trim().split('\n').pop() ?? '?';
  return { bin: pm2, env, version, stop: async () => void (await timed(pm2, ['kill'], env)) };
}

/** Wrap and run `true`: what each tool adds to a command that does nothing, beside Node's own start. */
export async function wrapTrue(scratch: string, runs: number): Promise<Figure> {
  const env = { TASKWATCH_DB: path.join(scratch, 'wrap.db') };
  await timed(bin('launch'), ['--', 'true'], env); // creates the registry; not counted
  const cs: Contender[] = [
    { name: 'node -e 0', run: () => timed(node, ['-e', '0']) },
    { name: 'launch -- true', run: () => timed(bin('launch'), ['--', 'true'], env) },
    { name: 'timeout 60 true', run: () => timed('timeout', ['60', 'true']) },
  ];
  const missing: string[] = [];
  const nq = which('nq');
  if (nq) {
    const dir = fs.mkdtempSync(path.join(scratch, 'nq-'));
    cs.push({ name: 'nq true', run: () => timed(nq, ['true'], { NQDIR: dir }) });
  } else missing.push("nq: not installed (Debian's nq; bench/peers.sh installs it as root)");
  const pm2 = await pm2Home(scratch);
  if (typeof pm2 === 'string') missing.push(pm2);
  else {
    await timed(pm2.bin, ['ping'], pm2.env); // the daemon up before the first timing
    let n = 0;
    cs.push({ name: `pm2 ${pm2.version} start true`, run: () => timed(pm2.bin, ['start', 'true', '--name', `t${n++}`, '--no-autorestart', '--interpreter', 'none'], pm2.env) });
  }
  try {
    const t = await alternate(cs, runs);
    const launch = median(t.get('launch -- true')!);
    const floor = median(t.get('node -e 0')!);
    const rows = [...t].map(([name, xs]) => `${name} ${spread(xs, ms)}${name === 'launch -- true' ? '' : ` (launch: ${(launch / median(xs)).toFixed(2)}x)`}`);
    return {
      name: 'Wrap and run `true`, beside GNU timeout, nq and pm2 (and Node\'s own start)',
      value: [...rows, ...missing].join('<br>'),
      target: `launch <= 1.15x node -e 0`,
      pass: launch / floor <= 1.15,
      how: `median of ${runs} each, run alternately, start to exit; nq returns once the job is forked and logged, pm2 once its daemon has the process`,
    };
  } finally {
    if (typeof pm2 !== 'string') await pm2.stop();
  }
}

/** supervisord holding `n` sleeps, with its control socket for supervisorctl. */
function supervisorConf(dir: string, n: number): string {
  const conf = path.join(dir, 'supervisord.conf');
  fs.writeFileSync(conf, [
    '[unix_http_server]', `file=${dir}/supervisor.sock`,
    '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    '[supervisorctl]', `serverurl=unix://${dir}/supervisor.sock`,
    '[supervisord]', 'nodaemon=true', `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}`, ...(process.getuid?.() === 0 ? ['user=root'] : []),
    '[program:s]', 'command=sleep 3600', `numprocs=${n}`, 'process_name=%(program_name)s_%(process_num)02d', 'autorestart=true', '',
  ].join('\n'));
  return conf;
}

/** The status of 20 tasks: `control --list --json` beside `pm2 jlist` and `supervisorctl status`, each holding 20 sleeps. */
export async function statusOf20(scratch: string, runs: number): Promise<Figure> {
  const env = { TASKWATCH_DB: path.join(scratch, 'status.db') };
  const ours = Array.from({ length: 20 }, () => background(bin('launch'), ['--', 'sleep', '3600'], env));
  const cs: Contender[] = [
    { name: 'node -e 0', run: () => timed(node, ['-e', '0']) },
    { name: 'control --list --json', run: () => timed(bin('control'), ['--list', '--json'], env) },
  ];
  const missing: string[] = [];
  const pm2 = await pm2Home(scratch);
  let supervisord: ReturnType<typeof background> | undefined;
  try {
    await untilRunning(env, 20, 30_000, '20 running tasks');
    if (typeof pm2 === 'string') missing.push(pm2);
    else {
      const eco = path.join(scratch, 'pm2-status.config.json');
      fs.writeFileSync(eco, JSON.stringify({ apps: Array.from({ length: 20 }, (_, i) => ({ name: `s${i}`, script: 'sleep', args: '3600', interpreter: 'none' })) }));
      const s = await timed(pm2.bin, ['start', eco], pm2.env);
      if (s.code !== 0) throw new Error(`pm2 start: ${s.stderr}`);
      await until(async () => (JSON.parse((await timed(pm2.bin, ['jlist'], pm2.env)).stdout) as Array<{ pid: number }>).filter((p) => p.pid > 0).length === 20, 30_000, "pm2's 20 processes");
      cs.push({ name: `pm2 ${pm2.version} jlist`, run: () => timed(pm2.bin, ['jlist'], pm2.env) });
    }
    const sd = which('supervisord');
    const sctl = which('supervisorctl');
    if (sd && sctl) {
      const dir = fs.mkdtempSync(path.join(scratch, 'sd-status-'));
      const conf = supervisorConf(dir, 20);
      supervisord = background(sd, ['-c', conf]);
      await until(async () => ((await timed(sctl, ['-c', conf, 'status'])).stdout.match(/RUNNING/g)?.length ?? 0) === 20, 30_000, "supervisord's 20 processes");
      const version = spawnSync(sd, ['--version'], { encoding: 'utf8' }).stdout.trim();
      cs.push({ name: `supervisorctl ${version} status`, run: () => timed(sctl, ['-c', conf, 'status']) });
    } else missing.push("supervisord: not installed (Debian's supervisor; bench/peers.sh installs it as root)");
    const t = await alternate(cs, runs);
    const ourMs = median(t.get('control --list --json')!);
    const ratios = [...t].filter(([n]) => n.startsWith('pm2') || n.startsWith('supervisorctl')).map(([n, xs]) => [n, ourMs / median(xs)] as const);
    const rows = [...t].map(([name, xs]) => `${name} ${spread(xs, ms)}${name.startsWith('control') ? '' : ` (control: ${(ourMs / median(xs)).toFixed(2)}x)`}`);
    return {
      name: 'Status of 20 tasks: `control --list --json` beside `pm2 jlist` and `supervisorctl status`',
      value: [...rows, ...missing].join('<br>'),
      target: '<= 0.8x each peer',
      pass: ratios.length === 2 && ratios.every(([, r]) => r <= 0.8),
      how: `median of ${runs} each, run alternately, start to exit, each system holding 20 \`sleep 3600\``,
    };
  } finally {
    ours.forEach((l) => l.kill('SIGTERM'));
    supervisord?.kill('SIGTERM');
    await Promise.all([...ours.map((l) => l.exited), supervisord?.exited]);
    if (typeof pm2 !== 'string') await pm2.stop();
  }
}
