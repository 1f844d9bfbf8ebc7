import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { processesNamed } from '../src/proc/identity';

export const ROOT = path.resolve(__dirname, '..', '..');
export const bin = (name: string) => path.join(ROOT, 'dist', 'bin', `${name}.js`);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  endedAt: number;
}

/** Runs a command to completion, timing it from spawn to exit with a monotonic clock. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Done> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Decoded as a stream: a character whose UTF-8 bytes a pipe splits across two reads stays whole.
    p.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const ms = performance.now() - t0;
      const endedAt = Date.now();
      p.on('close', () => resolve({ code, stdout, stderr, ms, endedAt }));
    });
  });
}

// What the bench started in the background and did not see end (a step failed half-way) is killed
// when the bench exits: a leftover would skew every later figure, and outlive the bench.
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((p) => p.kill('SIGKILL')));

export function background(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, o: { stdout?: boolean } = {}): ChildProcess & { exited: Promise<number | null>; err: () => string; out: () => string } {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', o.stdout ? 'pipe' : 'ignore', 'pipe'] });
  running.add(p);
  p.on('exit', () => running.delete(p));
  let err = '';
  let out = '';
  p.stderr!.on('data', (d) => (err += d));
  p.stdout?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  return Object.assign(p, { exited, err: () => err, out: () => out });
}

export async function until<T>(f: () => T | Promise<T>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface LiveRow {
  taskid: number;
  pid: number | null;
  status: string;
}

/** The live rows `control --list --json` prints for a registry; [] while it cannot say (no registry yet). */
export async function liveRows(env: NodeJS.ProcessEnv): Promise<LiveRow[]> {
  const r = await timed(bin('control'), ['--list', '--json'], env);
  return r.code === 0 ? (JSON.parse(r.stdout) as LiveRow[]) : [];
}

/** Waits until `n` of the registry's live tasks have their child's pid recorded (and, given one, that status). */
export function untilRunning(env: NodeJS.ProcessEnv, n: number, ms: number, what: string, status?: string): Promise<true> {
  return until(async () => (await liveRows(env)).filter((e) => e.pid && (status === undefined || e.status === status)).length === n || null, ms, what) as Promise<true>;
}

/** CPU time of every thread of a process, in ns (schedstat, not the 10 ms ticks of /proc/PID/stat). */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  }
  return total;
}

/**
 * The tw-beat-watch helpers of each launcher (by the launcher's pid), from one pass over /proc. A
 * helper watches for its launcher, so its CPU and memory are the launcher's: every figure adds them.
 */
export function helpersByLauncher(): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const { pid, ppid } of processesNamed('tw-beat-watch')) out.set(ppid, [...(out.get(ppid) ?? []), pid]);
  return out;
}

const orZero = (f: () => number): number => {
  try {
    return f();
  } catch {
    return 0; // a helper that ended meanwhile
  }
};

/** A launcher's CPU (all threads) with its helper's, in ns. */
export function launcherCpuNs(pid: number, helpers = helpersByLauncher()): number {
  return cpuNs(pid) + (helpers.get(pid) ?? []).reduce((s, h) => s + orZero(() => cpuNs(h)), 0);
}

/** A launcher's PSS with its helper's, in kB. */
export function launcherPssKb(pid: number, helpers = helpersByLauncher()): number {
  return pssKb(pid) + (helpers.get(pid) ?? []).reduce((s, h) => s + orZero(() => pssKb(h)), 0);
}

/** A figure of the bench: what was measured, against what target, and how. */
export interface Figure {
  name: string;
  value: string;
  target: string;
  pass: boolean;
  how: string;
}

/**
 * A process's resident memory in kB: all of it (RSS), its share of every page (PSS), the pages no other
 * process maps (USS); and RSS split into its own data (anonymous: heaps, stacks) and the files it maps
 * (its program and libraries, which every process running the same program shares).
 */
export interface Memory {
  rss: number;
  pss: number;
  uss: number;
  anon: number;
  file: number;
}

export function memoryOf(pid: number): Memory {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('Rss'), pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty'), anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
}

export function pssKb(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** "median (min–max, n=N)": every figure with its spread, since one machine's noise is not a result. */
export function spread(xs: number[], fmt: (x: number) => string): string {
  if (xs.length === 1) return `${fmt(xs[0])} (one run)`;
  return `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}, n=${xs.length})`;
}

/** Task `id`'s feedback file in `dir`, as launch names it for the registry `db`. */
export function feedbackPath(db: string, dir: string, id: number | string): string {
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const d = new Database(db, { readonly: true });
  try {
    const key = (d.prepare(`SELECT value FROM meta WHERE key = 'registry_key'`).get() as { value: string }).value;
    return path.join(dir, `feedback_${id}-${key}.log`);
  } finally {
    d.close();
  }
}
