import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// TASKWATCH_TEST_ROOT runs these tests against another build (an older checkout, to show that a
// test fails there); by default, this one.
export const ROOT = process.env.TASKWATCH_TEST_ROOT ?? path.resolve(__dirname, '..', '..');
export const FIXTURES = path.resolve(__dirname, '..', '..', 'tests', 'fixtures');
export const bin = (name: string) => path.join(ROOT, 'dist', 'bin', `${name}.js`);
export const fixture = (name: string) => path.join(FIXTURES, name);

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const scratch: string[] = [];
process.on('exit', () => {
  for (const d of scratch) fs.rmSync(d, { recursive: true, force: true });
});

/** A scratch directory, removed when the process exits. */
export function tmpdir(prefix = 'tw-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}

export interface StartOptions {
  /** Kill the process (SIGKILL) if it is still running after this long: a hang fails the test instead of stalling the suite. */
  timeoutMs?: number;
  stdin?: string;
  cwd?: string;
}

// Whatever a test started and did not see end (it failed half-way) is asked to stop when the file's
// tests are done: a launch left running would keep the test file, and its task, alive.
const started = new Set<ChildProcess>();
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});

/** `result` waits for stdout/stderr to close too; `exited` only for the process (its heirs may hold the pipes). */
export function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, o: StartOptions = {}): ChildProcess & { result: Promise<Ran & { timedOut: boolean }>; exited: Promise<number | null>; stdoutSoFar: () => string; stderrSoFar: () => string } {
  const child = spawn(cmd, args, { cwd: o.cwd, env: { ...process.env, ...env }, stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  started.add(child);
  child.once('exit', () => started.delete(child));
  if (o.stdin !== undefined) child.stdin!.end(o.stdin);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.timeoutMs);
  // Decoded as a stream: a character whose UTF-8 bytes a pipe splits across two reads stays whole.
  child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
  const result = new Promise<Ran & { timedOut: boolean }>((resolve) => child.on('close', (code, signal) => {
    clearTimeout(timer);
    resolve({ code, signal, stdout, stderr, timedOut });
  }));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return Object.assign(child, { result, exited, stdoutSoFar: () => stdout, stderrSoFar: () => stderr });
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, o: StartOptions = {}): Promise<Ran & { timedOut: boolean }> {
  return start(cmd, args, env, o).result;
}

/** Runs one of our bins against a registry file. */
export function tw(db: string) {
  const env = { TASKWATCH_DB: db };
  return {
    env,
    db,
    control: (...args: string[]) => run(process.execPath, [bin('control'), ...args], env, { timeoutMs: 60_000 }),
    launch: (...args: string[]) => run(process.execPath, [bin('launch'), ...args], env),
    startLaunch: (...args: string[]) => start(process.execPath, [bin('launch'), ...args], env),
    async json<T = unknown>(...args: string[]): Promise<T> {
      const r = await run(process.execPath, [bin('control'), ...args, '--json'], env);
      if (r.code !== 0) throw new Error(`control ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
  };
}

/** Polls `cond` until it returns a truthy value, or fails after `ms`. Never a bare sleep. */
type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** A registry in a directory of its own, with launch and control bound to it. */
export function freshRegistry() {
  const dir = tmpdir();
  return { dir, ...tw(path.join(dir, 'tw.db')) };
}
export type Fresh = ReturnType<typeof freshRegistry>;

/** The id of the live task named `name`, once its child's pid is recorded. */
export async function runningId(t: ReturnType<typeof tw>, name: string): Promise<number> {
  const list = async () => t.json<Array<{ taskid: number; name: string | null; pid: number | null }>>('--list');
  return (await waitFor(async () => (await list()).find((e) => e.name === name && e.pid), 15_000, name)).taskid;
}

export async function waitFor<T>(cond: () => T | Promise<T>, ms = 15_000, what = 'condition'): Promise<Truthy<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as Truthy<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The registry's key (its feedback file names carry it); '' for a registry made before keys existed. */
export function registryKey(db: string): string {
  const Database = require('better-sqlite3') as typeof import('better-sqlite3');
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (d.prepare(`SELECT value FROM meta WHERE key = 'registry_key'`).get() as { value: string } | undefined)?.value ?? '';
  } catch {
    return '';
  } finally {
    d.close();
  }
}

/** Where launch puts task `id`'s feedback file in `dir` for the registry `db`. */
export function feedbackFile(db: string, dir: string, id: number | string): string {
  const key = registryKey(db);
  return path.join(dir, key ? `feedback_${id}-${key}.log` : `feedback_${id}.log`);
}

/** The pids of a process's children, from /proc (field 4 of stat is the parent). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const st = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}
