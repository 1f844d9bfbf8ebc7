import { accessSync, constants as fsc, mkdirSync, readdirSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CGROUP_PARENT, cgroupLeaf } from './cgroup-name';

// cgroup v2 containment, as systemd does it for every service: each task gets a cgroup of its own,
// which no process of it can leave (setsid and double forks included). cgroup.kill ends them all at
// once, and cgroup.events says by inotify when the last one is gone. Detected, never assumed: where
// the unified hierarchy is missing or not writable, tasks keep their process group instead.

const CGROUP2_MAGIC = 0x63677270;

/** The cgroup v2 directory this process lives in, when the unified hierarchy is mounted here. */
export function ownCgroupDir(): string | null {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    if (!line) return null;
    const own = line.slice(3);
    for (const m of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [left, right] = m.split(' - ');
      if (!right?.startsWith('cgroup2 ')) continue;
      const f = left.split(' ');
      const rel = relative(f[3], own); // the mount's root within the hierarchy (cgroup namespaces)
      if (rel.startsWith('..')) continue;
      return join(unescapeMount(f[4]), rel);
    }
  } catch {
    /* no /proc */
  }
  return null;
}

const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Makes the task's cgroup under this launcher's own, or returns why it cannot (the caller then
 * keeps the process group). TASKWATCH_CGROUP=off asks for the process group.
 */
export function createTaskCgroup(registryKey: string, id: number, env = process.env): { dir: string } | { why: string } {
  if (env.TASKWATCH_CGROUP === 'off') return { why: 'TASKWATCH_CGROUP=off' };
  const base = ownCgroupDir();
  if (!base) return { why: 'no cgroup v2 hierarchy is mounted' };
  const dir = join(base, CGROUP_PARENT, cgroupLeaf(registryKey, id));
  try {
    mkdirSync(join(base, CGROUP_PARENT), { recursive: true });
    mkdirSync(dir);
    accessSync(join(dir, 'cgroup.procs'), fsc.W_OK);
    accessSync(join(dir, 'cgroup.kill'), fsc.W_OK); // Linux 5.14 and later
    return { dir };
  } catch (err) {
    removeCgroup(dir);
    return { why: `cannot make ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

/** True when `dir` is a directory of a cgroup v2 file system (a path read from the registry is checked before use). */
export function isCgroupDir(dir: string): boolean {
  try {
    return statfsSync(dir).type === CGROUP2_MAGIC;
  } catch {
    return false;
  }
}

/** Every process in the cgroup and the cgroups below it (a nested launch makes its own). */
export function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  try {
    for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) out.push(Number(l));
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...cgroupPids(join(dir, e.name)));
  } catch {
    /* removed meanwhile */
  }
  return out;
}

export function isPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/** SIGKILL to every process of the cgroup and below, atomically: none can fork away meanwhile. */
export function killCgroup(dir: string): void {
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes an empty cgroup and any empty ones below it; a cgroup still in use stays. */
export function removeCgroup(dir: string): void {
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(dir, e.name));
    rmdirSync(dir);
  } catch {
    /* gone already, or still populated */
  }
}
