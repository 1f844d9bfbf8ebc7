// C: no process escapes. With cgroup v2 every process of a task is ended; without it, the process
// group is, and history says how many got away. The task keeps launch's terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bin, run, start, tmpdir, tw, waitFor } from './helpers';
import { ownCgroupDir } from '../src/proc/cgroup';

interface Live {
  taskid: number;
  pid: number | null;
  containment: string | null;
}
interface Hist {
  outcome: string;
  termerror: string | null;
}

/** The escapist: one sleep in the group, one setsid'd, one setsid'd and double-forked. */
const escapist = (tag: number) => `sleep ${tag}1 & setsid sleep ${tag}2 & (setsid sh -c "sleep ${tag}3 &" &); wait`;

/** The pids of the escapist's sleeps still alive. */
function sleepers(tag: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      const state = fs.readFileSync(`/proc/${name}/stat`, 'latin1').split(') ')[1]?.[0];
      if (argv[0] === 'sleep' && new RegExp(`^${tag}[123]$`).test(argv[1] ?? '') && state !== 'Z') out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Whether this machine lets us make cgroups (a writable cgroup v2 hierarchy), found by trying. */
function cgroupsHere(): boolean {
  const base = ownCgroupDir();
  if (!base) return false;
  const probe = path.join(base, `taskwatch-probe-${process.pid}`);
  try {
    fs.mkdirSync(probe);
    fs.rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

test('C1: in a cgroup of its own, control --kill ends every process of the task, setsid and double forks included', { skip: !cgroupsHere() && 'no writable cgroup v2 hierarchy here (run as root on a cgroup v2 system)' }, async () => {
  const dir = tmpdir();
  const t = tw(path.join(dir, 'tw.db'));
  const tag = 10_000 + Math.floor(Math.random() * 80_000);
  const l = t.startLaunch('--name', 'escapist', '--grace', '1', '--', 'sh', '-c', escapist(tag));
  try {
    await waitFor(() => sleepers(tag).length === 3, 10_000, 'three sleeps');
    const [e] = await t.json<Live[]>('--list');
    assert.equal(e.containment, 'cgroup');
    const cgroup = fs.readFileSync(`/proc/${e.pid}/cgroup`, 'utf8');
    assert.match(cgroup, /^0::.*\/taskwatch\/[0-9a-f]{8}-\d+$/m);
    const k = await t.control('--kill', String(e.taskid), '--grace', '1');
    assert.equal(k.code, 0, k.stderr);
    assert.equal((await l.exited), 143);
    await waitFor(() => sleepers(tag).length === 0, 10_000, 'every sleep gone');
    const [h] = await t.json<Hist[]>('--history');
    assert.equal(h.outcome, 'killed');
    assert.doesNotMatch(h.termerror!, /left running/);
  } finally {
    for (const p of sleepers(tag)) process.kill(p, 'SIGKILL');
  }
});

test('C2: without a cgroup, the process group is ended and history counts the processes that got away', async () => {
  const t = tw(path.join(tmpdir(), 'tw.db'));
  const tag = 10_000 + Math.floor(Math.random() * 80_000);
  // TASKWATCH_CGROUP=off asks for the process group, as on a machine without a writable cgroup v2.
  const l = start(process.execPath, [bin('launch'), '--name', 'escapist', '--grace', '1', '--', 'sh', '-c', escapist(tag)], { ...t.env, TASKWATCH_CGROUP: 'off' });
  try {
    await waitFor(() => sleepers(tag).length === 3, 10_000, 'three sleeps');
    const [e] = await t.json<Live[]>('--list');
    assert.equal(e.containment, 'pgroup');
    const k = await t.control('--kill', String(e.taskid), '--grace', '1');
    assert.equal(k.code, 0, k.stderr);
    assert.equal(await l.exited, 143);
    await waitFor(() => sleepers(tag).length === 2, 10_000, 'the sleep in the group to be gone');
    const [h] = await t.json<Hist[]>('--history');
    assert.equal(h.outcome, 'killed');
    assert.match(h.termerror!, /2 processes that had left its process group were left running \(no cgroup here to hold them\)/);
  } finally {
    for (const p of sleepers(tag)) process.kill(p, 'SIGKILL');
  }
});

test('C3: the task keeps launch\'s terminal; with --foreground it can read it', async () => {
  const dir = tmpdir();
  const db = path.join(dir, 'tw.db');
  const launch = bin('launch');
  const tty = await run('script', ['-qec', `${launch} --db ${db} -- sh -c 'echo hi >/dev/tty'`, '/dev/null'], {}, { timeoutMs: 30_000 });
  assert.equal(tty.code, 0, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /^hi\r?$/m);
  const fg = await run('script', ['-qec', `${launch} --db ${db} --foreground -- sh -c 'read x </dev/tty; echo got:$x'`, '/dev/null'], {}, { timeoutMs: 30_000, stdin: 'abc\n' });
  assert.equal(fg.code, 0, fg.stdout + fg.stderr);
  assert.match(fg.stdout, /got:abc/);
});
