// The cost figures of npm run bench at scale: CPU per launcher with 1 and 50 tasks in one feedback
// directory, 1,000 watched tasks on one host, and history and list at 100,000 rows.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { background, bin, feedbackPath, helpersByLauncher, launcherCpuNs, launcherPssKb, median, sleep, spread, timed, untilRunning, type Figure } from './lib';
import { fillHistory } from './serve';

const node = process.execPath;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const pct = (x: number) => `${x.toFixed(4)}%`;
const HEARTBEAT_EVERY_HALF_SECOND = 'while :; do echo "[beat]x" >> "$TASKWATCH_FEEDBACK"; sleep 0.5; done';

/**
 * CPU per watching launcher while its task writes feedback every 0.5 s: one task alone in its
 * directory, and 50 sharing one. A launcher wakes only at its thresholds (--timeout 30: every 7.5 s
 * at most), so neither the write rate nor the neighbours should show. While its task beats, the
 * looks are its tw-beat-watch's, whose CPU is counted as the launcher's.
 */
export async function cpuPerLauncher(scratch: string, windowSec: number): Promise<Figure> {
  const env = { TASKWATCH_DB: path.join(scratch, 'cpu.db') };
  const alone = fs.mkdtempSync(path.join(scratch, 'alone-'));
  const shared = fs.mkdtempSync(path.join(scratch, 'shared-'));
  const start = (dir: string) => background(bin('launch'), ['--feedpath', dir, '--timeout', '30', '--', 'sh', '-c', HEARTBEAT_EVERY_HALF_SECOND], env);
  const one = start(alone);
  const fifty = Array.from({ length: 50 }, () => start(shared));
  // Node's floor: a process that wakes on the same schedule (every 7.5 s) to look at a file's times.
  const floor = background(node, ['-e', `setInterval(() => require('fs').lstatSync(${JSON.stringify(alone)}), 7500)`], { NODE_EXTRA_CA_CERTS: undefined });
  const all = [one, ...fifty, floor];
  try {
    await untilRunning(env, 51, 60_000, '51 running tasks');
    await sleep(12_000); // past start-up: module compilation, the first registry writes
    // Each launcher with its tw-beat-watch, which looks at the file for it while the task beats.
    const cpu = () => {
      const helpers = helpersByLauncher();
      return all.map((l) => launcherCpuNs(l.pid!, helpers));
    };
    const c0 = cpu();
    const t0 = performance.now();
    await sleep(windowSec * 1000);
    const wall = performance.now() - t0;
    const c1 = cpu();
    const share = all.map((l, i) => ((c1[i] - c0[i]) / 1e6 / wall) * 100);
    const [a, ...b] = share.slice(0, -1);
    const worst = Math.max(a, median(b));
    return {
      name: 'CPU per watching launcher, task writing feedback every 0.5 s: alone in its directory, and 50 in one',
      value: `alone ${pct(a)}; 50 in one directory ${spread(b, pct)} of a core; Node's floor ${pct(share[share.length - 1])} (a bare \`node -e\` waking every 7.5 s to stat a file)`,
      target: '<= 0.002%, the same with 1 or 50',
      pass: worst <= 0.002,
      how: `one window of ${windowSec} s, 12 s after all 51 ran, all threads (/proc/PID/task/*/schedstat) of each launcher and of its tw-beat-watch (which looks at the file for it while the task beats); --timeout 30, so a look every 7.5 s at most`,
    };
  } finally {
    all.forEach((l) => l.kill('SIGTERM'));
    await Promise.all(all.map((l) => l.exited));
  }
}

function inotifyFds(pid: number): number {
  let n = 0;
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify') n++;
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    /* gone */
  }
  return n;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/**
 * `count` tasks watched at once on this host, each beating once and then hanging, so that each is
 * killed at its --timeout. They start one every 100 ms (a burst of 1,000 Node start-ups would only
 * measure the scheduler, and deadlines as bunched as the starts measure it again); the timeout is
 * longer than the start-up of all of them, so every kill happens with all the others watching.
 * Each task's TERM trap stamps the time; lateness is that stamp against its feedback file's mtime +
 * the timeout. While all watch: inotify instances held by the launchers,
 * and whether another program can still have one.
 */
export async function thousand(scratch: string, count: number): Promise<Figure> {
  const env = { TASKWATCH_DB: path.join(scratch, 'thousand.db') };
  const feed = fs.mkdtempSync(path.join(scratch, 'k-'));
  const stamps = fs.mkdtempSync(path.join(scratch, 'k-stamps-'));
  const everyMs = 100;
  const timeoutSec = Math.ceil((count * everyMs) / 1000) + 30;
  const task = `trap 'date +%s%N > ${stamps}/$TASKWATCH_TASKID; exit 0' TERM; echo "[beat]1" >> "$TASKWATCH_FEEDBACK"; sleep 3600 & wait`;
  const ls: Array<ReturnType<typeof background>> = [];
  try {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      ls.push(background(bin('launch'), ['--feedpath', feed, '--keep-feedback', '--timeout', String(timeoutSec), '--grace', '2', '--', 'sh', '-c', task], env));
      await sleep(everyMs);
    }
    await untilRunning(env, count, timeoutSec * 1000, `${count} running tasks`);
    const startedSec = (performance.now() - t0) / 1000;
    const held = ls.reduce((n, l) => n + inotifyFds(l.pid!), 0);
    const probe = spawnSync(node, ['-e', "require('fs').watch('.').close(); console.log('ok')"], { cwd: scratch, encoding: 'utf8' });
    const others = probe.stdout.trim() === 'ok' ? 'yes' : `no: ${probe.stderr.trim().split('\n').pop()}`;
    const helpers = helpersByLauncher();
    const pss = ls.reduce((s, l) => s + launcherPssKb(l.pid!, helpers), 0) / count / 1024;
    const codes = await Promise.all(ls.map((l) => l.exited));
    const late: number[] = [];
    for (const f of fs.readdirSync(stamps)) {
      const id = Number(f);
      const deadline = fs.statSync(feedbackPath(env.TASKWATCH_DB, feed, id)).mtimeMs + timeoutSec * 1000;
      late.push(Number(fs.readFileSync(path.join(stamps, f), 'utf8')) / 1e6 - deadline);
    }
    const killed = codes.filter((c) => c === 124).length;
    const p95 = percentile(late, 95);
    return {
      name: `${count} watched tasks at once on one host, each killed at its --timeout`,
      value: `kill lateness p95 ${ms(p95)} (median ${ms(median(late))}, max ${ms(Math.max(...late))}, n=${late.length}); ${killed} of ${count} ended by the timeout (exit 124); inotify instances held by the launchers: ${held} (this user may have ${fs.readFileSync('/proc/sys/fs/inotify/max_user_instances', 'utf8').trim()}); another program could watch a file meanwhile: ${others}; PSS per launcher ${pss.toFixed(2)} MB`,
      target: 'p95 <= 50 ms, all enforced, 0 inotify',
      pass: p95 <= 50 && killed === count && late.length === count && held === 0 && others === 'yes',
      how: `started one every ${everyMs} ms (all ${count} running after ${startedSec.toFixed(0)} s); one heartbeat each, then a hang; --timeout ${timeoutSec}, so every kill comes once all are watching; the task's TERM trap stamps the time, against its feedback file's mtime + the timeout`,
    };
  } finally {
    ls.forEach((l) => l.kill('SIGTERM'));
    await Promise.all(ls.map((l) => l.exited));
  }
}

/** Peak RSS (kB) of a command run to completion, its output read and dropped, by wait4's rusage. */
function peakRssKb(cmd: string[], env: NodeJS.ProcessEnv): number {
  const py = 'import os,subprocess,sys\np=subprocess.Popen(sys.argv[1:],stdout=subprocess.PIPE)\nwhile p.stdout.read(1<<16): pass\n_,st,ru=os.wait4(p.pid,0)\nprint(ru.ru_maxrss)';
  const r = spawnSync('python3', ['-c', py, ...cmd], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : NaN;
}

/**
 * `control --history --json --limit 1000000` over 100,000 rows: its time (start to exit, read through
 * a pipe), and its peak memory beside 10,000 rows (flat: the output is written a page at a time).
 * And `control --list --json` over 20 live tasks, with no history and with those 100,000 rows.
 */
export async function atSize(scratch: string, runs: number): Promise<Figure[]> {
  const small = { TASKWATCH_DB: path.join(scratch, 'hist10k.db') };
  const big = { TASKWATCH_DB: path.join(scratch, 'hist100k.db') };
  await fillHistory(small.TASKWATCH_DB, small, 10_000);
  await fillHistory(big.TASKWATCH_DB, big, 100_000);
  const all = ['--history', '--json', '--limit', '1000000'];
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await timed(bin('control'), [...all], big);
    if (r.code !== 0 || !r.stdout.startsWith('[{')) throw new Error(`control --history: ${r.stderr}`);
    t.push(r.ms);
  }
  const rss10k = peakRssKb([node, bin('control'), ...all], small) / 1024;
  const rss100k = peakRssKb([node, bin('control'), ...all], big) / 1024;

  // 20 live tasks in a registry with no history, and in one with 100,000 rows of it.
  const lists: Record<string, number[]> = { none: [], full: [] };
  const fresh = { TASKWATCH_DB: path.join(scratch, 'list-fresh.db') };
  const sleeps = [fresh, big].flatMap((env) => Array.from({ length: 20 }, () => background(bin('launch'), ['--', 'sleep', '3600'], env)));
  try {
    for (const env of [fresh, big]) await untilRunning(env, 20, 30_000, '20 running tasks');
    for (let i = 0; i < runs; i++) {
      for (const [k, env] of [['none', fresh], ['full', big]] as const) lists[k].push((await timed(bin('control'), ['--list', '--json'], env)).ms);
    }
  } finally {
    sleeps.forEach((l) => l.kill('SIGTERM'));
    await Promise.all(sleeps.map((l) => l.exited));
  }
  const ratio = median(lists.full) / median(lists.none);
  return [
    {
      name: '`control --history --json --limit 1000000` over 100,000 rows',
      value: `${spread(t, ms)}; peak RSS ${rss100k.toFixed(0)} MB, against ${rss10k.toFixed(0)} MB for 10,000 rows`,
      target: '<= 300 ms, memory flat',
      pass: median(t) <= 300 && rss100k <= rss10k * 1.5,
      how: `median of ${runs}, start to exit, the output read through a pipe; peak RSS by wait4 (python3), the output read as it comes`,
    },
    {
      name: '`control --list --json` over 20 live tasks, with 100,000 rows of history / with none',
      value: `${ratio.toFixed(2)}x; ${spread(lists.full, ms)} vs ${spread(lists.none, ms)}`,
      target: '<= 1.1x (flat)',
      pass: ratio <= 1.1,
      how: `median of ${runs} each, run alternately`,
    },
  ];
}

