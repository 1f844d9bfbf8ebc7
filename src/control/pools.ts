import { spawn } from 'node:child_process';
import { closeSync, constants as fsc, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { caCertsAside } from '../ca-certs';
import { EXIT } from '../errors';
import type { Registry } from '../db/registry';
import { isLauncher } from '../proc/identity';
import type { LaunchedTask, Pool } from '../task/model';
import { launcherAlive, quietMs } from '../lost';
import type { Command } from './command';
import type { PoolEntry } from './entries';
import { tables } from './tables';

// Pools as control sees them: listed with what wpconsole shows per task, and kept supervised. A
// pool whose supervisor is gone (SIGKILLed) while it wants instances gets a new one from the next
// control call that reads pools (--list, --pools, --scale); the new supervisor ends the instances the
// old one left and starts fresh ones, so no instance stays unwatched.

/** An instance that is running now (not reserved, not waiting to restart, its supervisor alive). */
export const runningInstance = (t: LaunchedTask): boolean => t.state !== 'BACKOFF' && t.leader !== null && launcherAlive(t);

export const supervised = (p: Pool): boolean => p.supervisor !== null && isLauncher(p.supervisor.pid, p.supervisor.start);

/** Starts a pool's supervisor, detached: `launch --pool NAME`, its diagnostics in the logs beside the registry. */
export function startSupervisor(reg: Registry, name: string, launchBin: string): void {
  const logs = join(reg.home, 'logs');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const err = openSync(join(logs, `${name}.pool.log`), fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW, 0o600);
  try {
    // The registry goes in the environment, not the arguments: a PostgreSQL URL may hold a password, and anyone may read a command line.
    // Started as `node FILE`, not through launch's shell lines (which would tie it to control's life
    // under npx), so the CA bundle is set aside here as they would.
    const args = [launchBin, '--pool', name, '--debug'];
    const env = caCertsAside({ ...process.env, TASKWATCH_DB: reg.dbArg }, reg.dbArg, args);
    const child = spawn(process.execPath, args, { detached: true, env, stdio: ['ignore', 'ignore', err] });
    child.on('error', () => {});
    child.unref();
  } finally {
    closeSync(err);
  }
}

/** Gives every pool that wants instances but has no live supervisor a new one. Returns the names it did it for. */
export function healPools(reg: Registry, launchBin: string): string[] {
  const healed: string[] = [];
  for (const p of reg.pools()) {
    if (p.desired === 0 || supervised(p)) continue;
    startSupervisor(reg, p.name, launchBin);
    healed.push(p.name);
  }
  return healed;
}

export function poolEntries(reg: Registry): PoolEntry[] {
  const now = Date.now();
  return reg.pools().map((p) => {
    const live = reg.poolTasks(p.name).filter((t): t is LaunchedTask => t.state !== 'RESERVED');
    const beats = live.filter(runningInstance).map((t) => quietMs(t, now)).filter((q): q is number => q !== null);
    return {
      name: p.name,
      desired: p.desired,
      active: live.filter(runningInstance).length,
      command: p.command,
      created: p.createdAt,
      supervisor_pid: supervised(p) ? (p.supervisor?.pid ?? null) : null,
      supervised_since: supervised(p) ? p.supervisedSince : null,
      last_heartbeat: beats.length ? (now - Math.min(...beats)) / 1000 : null,
      dead: p.dead,
      stalled: p.stalled,
      restarts: p.restarts,
    };
  });
}

/** control --pools [--json] */
export const command: Command = (a) => async (reg, out) => {
  const healed = healPools(reg, a.launchBin);
  const entries = poolEntries(reg);
  if (a.json) out(JSON.stringify(entries));
  else out(tables().renderPools(entries, tables().layoutFor(a.wide === true)));
  for (const name of healed) process.stderr.write(`control: pool ${name} had lost its supervisor; a new one ends its orphans and starts fresh instances\n`);
  return EXIT.ok;
};
