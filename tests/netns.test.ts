import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, bin, run, start, tmpdir, tw, waitFor } from './helpers';
import { pgSkip } from './backends';
import { startPostgres } from './pg-server';

// A launcher on another "host": a network namespace joined to this one by a veth pair, reaching
// PostgreSQL over TCP as a real remote host would. Its network is then cut: the server's TCP
// keepalive drops the silent connection, which frees the launcher's lock, and the task is LOST
// for everyone else, while the launcher goes on watching it. Needs root and iproute2; skipped
// (saying why) where the machine does not allow network namespaces.

const ns = `tw${process.pid}`;
const hostIf = `twh${process.pid % 100000}`;
const nsIf = `twn${process.pid % 100000}`;
const net = `10.231.${process.pid % 250}`;

const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });

function netnsSkip(): string | false {
  const pg = pgSkip();
  if (pg) return pg;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const r = ip('netns', 'add', ns);
  if (r.status !== 0) return `ip netns add failed: ${(r.stderr || r.error?.message || '').trim()}`;
  const steps = [
    ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf],
    ['link', 'set', nsIf, 'netns', ns],
    ['addr', 'add', `${net}.1/24`, 'dev', hostIf],
    ['link', 'set', hostIf, 'up'],
    ['netns', 'exec', ns, 'ip', 'addr', 'add', `${net}.2/24`, 'dev', nsIf],
    ['netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up'],
    ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'],
  ];
  for (const s of steps) {
    const x = ip(...s);
    if (x.status !== 0) return `ip ${s.join(' ')} failed: ${x.stderr.trim()}`;
  }
  return false;
}

const skip = netnsSkip();
after(() => {
  ip('netns', 'del', ns);
  ip('link', 'del', hostIf);
});

test('a launcher in another network namespace: a kill from here reaches it through PostgreSQL; its network cut, its task is LOST within the server\'s TCP keepalive, the launcher still watches it, and its ending is archived once the network is back', { skip, timeout: 120_000 }, async () => {
  // Keepalive 1 s idle, then 3 probes 1 s apart: a silent peer is dropped after about 4 s.
  const pg = await startPostgres({ listen: [`${net}.1`], trust: [`${net}.0/24`], keepalive: { idle: 1, interval: 1, count: 3 } });
  try {
    const local = await pg.createDb();
    const remote = local.replace('127.0.0.1', `${net}.1`);
    const t = tw(local);
    const dir = tmpdir();
    const pidfile = path.join(dir, 'c.pid');
    // The launcher runs inside the namespace: `ip netns exec` execs it, so this pid is launch's.
    const l = start('ip', ['netns', 'exec', ns, process.execPath, bin('launch'), '--db', remote, '--name', 'far', '--', 'sh', '-c', `echo $$ > ${pidfile}; exec sleep 300`], { TASKWATCH_HOST: 'netA', TASKWATCH_DB: '' });
    const child = Number(await waitFor(() => fs.existsSync(pidfile) && fs.readFileSync(pidfile, 'utf8').trim(), 15_000, 'the task to start'));
    const live = async () => (await t.json<Array<{ taskid: number; status: string; host: string; pid: number | null }>>('--list'))[0];
    await waitFor(async () => (await live())?.status === 'RUNNING' && (await live())?.pid === child, 15_000, 'RUNNING');
    assert.equal((await live()).host, 'netA');

    // A kill from this host reaches the namespace's launcher only through PostgreSQL (over the veth).
    const other = start('ip', ['netns', 'exec', ns, process.execPath, bin('launch'), '--db', remote, '--name', 'victim', '--', 'sleep', '300'], { TASKWATCH_HOST: 'netA', TASKWATCH_DB: '' });
    const victim = await waitFor(async () => (await t.json<Array<{ taskid: number; name: string; pid: number | null }>>('--list')).find((e) => e.name === 'victim' && e.pid), 15_000, 'the victim running');
    const k = await run(process.execPath, [bin('control'), '--kill', String(victim.taskid), '--grace', '2'], { TASKWATCH_DB: local, TASKWATCH_HOST: 'here' });
    assert.equal(k.code, 0, k.stderr);
    assert.equal(await other.exited, 143);
    assert.equal(alive(victim.pid!), false);

    assert.equal(ip('netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'down').status, 0);
    const cutAt = Date.now();
    await waitFor(async () => (await live())?.status === 'LOST', 30_000, 'LOST once the server dropped the silent connection');
    const tookMs = Date.now() - cutAt;
    assert.ok(alive(child), 'the task itself runs on, watched by its launcher');
    assert.equal(l.exitCode, null, 'the launcher runs on');

    assert.equal(ip('netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up').status, 0);
    l.kill('SIGTERM'); // stopped on its own host: it ends the task and archives through the restored network
    assert.equal(await l.exited, 143);
    assert.equal(alive(child), false);
    const [h] = await waitFor(async () => {
      const hist = await t.json<Array<{ name: string; outcome: string; host: string }>>('--history');
      return hist.length > 0 && hist;
    }, 30_000, 'the ending archived');
    assert.deepEqual([h.name, h.outcome, h.host], ['far', 'killed', 'netA']);
    assert.deepEqual(await t.json('--list'), []);
    console.log(`# LOST ${tookMs} ms after the cut (keepalive idle 1 s, 3 probes 1 s apart)`);
  } finally {
    pg.stop();
  }
});
