import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { Exit } from '../task/outcome';
import { readProc } from '../proc/identity';

// The task is started through a few lines of Perl (perl-base is part of every Debian system), which
// do in the child, before the command's exec, what Node's spawn cannot: join the task's cgroup
// (so not one process of it runs outside), become leader of a new process group without leaving
// launch's session (the task keeps the terminal, as under GNU timeout), and keep ignoring the
// signals launch was started with ignored. Whether the exec worked comes back on fd 3, which is
// closed on exec: end-of-file alone means the command is running.

const HELPER = `
my ($cg, $pg, $ign) = splice @ARGV, 0, 3;
open(my $s, '>&=', 3) or exit 125;
fcntl($s, 2, 1);
select((select($s), $| = 1)[0]);
if ($cg ne '') {
  if (open(my $f, '>', $cg)) { print $f "0\\n"; close($f) or print $s 'cgroup ', $! + 0, "\\n"; }
  else { print $s 'cgroup ', $! + 0, "\\n"; }
}
setpgrp(0, 0) if $pg;
$SIG{$_} = 'IGNORE' for grep { length } split /,/, $ign;
exec { $ARGV[0] } @ARGV;
print $s 'exec ', $! + 0, "\\n";
exit 127;
`;

const PERL = ['/usr/bin/perl', '/bin/perl'].find((p) => existsSync(p)) ?? null;

export interface SpawnPlan {
  command: string[];
  env: NodeJS.ProcessEnv;
  /** cgroup.procs of the task's cgroup, or null. */
  cgroupProcs: string | null;
  /** A process group of its own; false with --foreground (the task shares launch's, and the terminal). */
  ownGroup: boolean;
  /** Signals to keep ignored in the task (SIGHUP under nohup...). */
  ignore: readonly string[];
  /** Which of its stdout and stderr come to launch (for --log) instead of being inherited. */
  pipe: { stdout: boolean; stderr: boolean };
}

export type Spawned =
  | { ok: true; pid: number; exited: Promise<Exit>; joinedCgroup: boolean; ownGroup: boolean; note: string | null; output: { stdout: Readable | null; stderr: Readable | null } }
  | { ok: false; errno: string | null; message: string };

const outputOf = (child: ChildProcess) => ({ stdout: child.stdout, stderr: child.stderr });

/** Resolves when the child exits: listened for from the spawn on, so a quick exit is never missed. */
function exitOf(child: ChildProcess): Promise<Exit> {
  child.on('error', () => {}); // errors after a successful spawn (none are expected) must not crash launch
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? { code: null, signal } : { code: code ?? 0, signal: null })),
  );
}

const ERRNO = new Map(Object.entries(constants.errno as Record<string, number>).map(([name, n]) => [n, name]));

/** Starts the command; resolves once it is exec'd (or could not be). */
export async function spawnTask(p: SpawnPlan): Promise<Spawned> {
  // With no terminal to keep, no cgroup to join and no signal to keep ignored, a session of its own
  // is as good as a group of its own, and Node's spawn makes it without the helper's few ms.
  if (p.cgroupProcs === null && p.ownGroup && p.ignore.length === 0 && readProc(process.pid)?.tty === 0) return spawnDirect(p, null);
  const [out, err] = [p.pipe.stdout ? 'pipe' : 'inherit', p.pipe.stderr ? 'pipe' : 'inherit'] as const;
  if (!PERL) return spawnDirect(p, 'no perl here: the task gets a session of its own (no terminal, no cgroup)');
  const sigs = p.ignore.map((s) => s.replace(/^SIG/, '')).join(',');
  let child: ChildProcess;
  try {
    child = spawn(PERL, ['-e', HELPER, p.cgroupProcs ?? '', p.ownGroup ? '1' : '0', sigs, ...p.command], { stdio: ['inherit', out, err, 'pipe'], env: p.env });
  } catch (err) {
    return { ok: false, errno: (err as NodeJS.ErrnoException).code ?? null, message: (err as Error).message };
  }
  if (child.pid === undefined) {
    const err = await new Promise<NodeJS.ErrnoException>((r) => child.once('error', r));
    return { ok: false, errno: err.code ?? null, message: err.message };
  }
  const exited = exitOf(child);
  const status = child.stdio[3] as NodeJS.ReadableStream;
  let text = '';
  status.setEncoding('latin1');
  status.on('data', (d: string) => (text += d));
  await new Promise<void>((r) => {
    status.once('end', r);
    status.once('error', () => r());
    status.once('close', () => r());
  });
  const lines = Object.fromEntries(text.split('\n').filter(Boolean).map((l) => l.split(' ', 2)));
  if (lines.exec !== undefined) {
    await exited;
    const errno = ERRNO.get(Number(lines.exec)) ?? null;
    return { ok: false, errno, message: errno ?? `errno ${lines.exec}` };
  }
  const cgErr = lines.cgroup !== undefined ? ERRNO.get(Number(lines.cgroup)) ?? lines.cgroup : null;
  return {
    ok: true, pid: child.pid, exited, joinedCgroup: p.cgroupProcs !== null && cgErr === null, ownGroup: p.ownGroup,
    note: cgErr ? `could not join its cgroup (${cgErr})` : null, output: outputOf(child),
  };
}

/** Without the helper: Node's own spawn, whose only way to a new process group is a new session. */
async function spawnDirect(p: SpawnPlan, note: string | null): Promise<Spawned> {
  let child: ChildProcess;
  try {
    child = spawn(p.command[0], p.command.slice(1), { stdio: ['inherit', p.pipe.stdout ? 'pipe' : 'inherit', p.pipe.stderr ? 'pipe' : 'inherit'], detached: true, env: p.env });
  } catch (err) {
    return { ok: false, errno: (err as NodeJS.ErrnoException).code ?? null, message: (err as Error).message };
  }
  if (child.pid === undefined) {
    const err = await new Promise<NodeJS.ErrnoException>((r) => child.once('error', r));
    return { ok: false, errno: err.code ?? null, message: err.message };
  }
  return { ok: true, pid: child.pid, exited: exitOf(child), joinedCgroup: false, ownGroup: true, note, output: outputOf(child) };
}
