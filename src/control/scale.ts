import { ExitError, EXIT } from '../errors';
import { parseSeconds } from '../cli/args';
import type { Registry } from '../db/registry';
import type { LaunchedTask, Pool, PoolOptions } from '../task/model';
import { DEFAULT_BACKOFF, parseBackoff, type RestartPolicy } from '../task/restart';
import { DEFAULT_GRACE_SEC } from '../task/model';
import { DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX, parseSize } from '../launch/output';
import { settleLost } from '../lost';
import type { Command, ControlArgs } from './command';
import { runningInstance, startSupervisor, supervised } from './pools';

// control --scale NAME N [options] -- CMD ARGS: makes a pool (the first time) or changes how many
// instances it keeps; N = 0 stops them all. control --delete-pool NAME forgets a pool once stopped.

/** A pool's name is part of its instances' log file names: letters, digits, '.', '_', '-'. */
export const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const MAX_INSTANCES = 10_000;

function poolName(v: unknown, flag: string): string {
  const s = String(v ?? '');
  if (!POOL_NAME.test(s)) throw new ExitError(`${flag} needs a pool name of letters, digits, '.', '_' and '-' (at most 64); got '${s}'`, EXIT.usage);
  return s;
}

const OPTION_FLAGS = ['feedpath', 'timeout', 'grace', 'max-time', 'restart', 'max-restarts', 'backoff', 'log-max', 'log-keep'] as const;

/** The instances' options from the command line; a pool's are fixed when it is made. */
function poolOptions(a: ControlArgs): PoolOptions {
  const usage = (m: string) => new ExitError(m, EXIT.usage);
  if (a.timeout !== undefined && a.feedpath === undefined) throw usage('--timeout is the instances\' heartbeat timeout and needs --feedpath DIR; for a limit on each run use --max-time');
  const policy = a.restart ?? 'always';
  if (!['no', 'on-failure', 'always'].includes(policy)) throw usage(`--restart takes no, on-failure or always; got '${policy}'`);
  if (a.maxRestarts !== undefined && !/^\d+$/.test(a.maxRestarts)) throw usage(`--max-restarts needs a whole number; got '${a.maxRestarts}'`);
  const backoff = a.backoff === undefined ? DEFAULT_BACKOFF : parseBackoff(a.backoff);
  if (!backoff) throw usage(`--backoff needs MIN[:MAX] in seconds, MIN no more than MAX; got '${a.backoff}'`);
  const logMax = a.logMax === undefined ? DEFAULT_LOG_MAX : parseSize(a.logMax);
  if (logMax === null) throw usage(`--log-max needs a size, as in 10M; got '${a.logMax}'`);
  const logKeep = a.logKeep === undefined ? DEFAULT_LOG_KEEP : Number(a.logKeep);
  if (!Number.isInteger(logKeep) || logKeep < 0) throw usage(`--log-keep needs a whole number; got '${a.logKeep}'`);
  return {
    feedDir: a.feedpath === undefined ? null : require('node:path').resolve(a.feedpath),
    timeoutSec: a.timeout === undefined ? 30 : parseSeconds(a.timeout, '--timeout', EXIT.usage),
    graceSec: a.grace === undefined ? DEFAULT_GRACE_SEC : parseSeconds(a.grace, '--grace', EXIT.usage, true),
    maxTimeSec: a.maxTime === undefined ? null : parseSeconds(a.maxTime, '--max-time', EXIT.usage),
    rule: { policy: policy as RestartPolicy, maxRestarts: a.maxRestarts === undefined ? null : Number(a.maxRestarts), backoffMinSec: backoff.minSec, backoffMaxSec: backoff.maxSec },
    logMaxBytes: logMax,
    logKeep,
  };
}

const instances = (reg: Registry, name: string) => reg.poolTasks(name).filter((t): t is LaunchedTask => t.state !== 'RESERVED');

/** Waits (by the registry's changes) until `done` holds, or `ms` passes; true when it held. */
function until(reg: Registry, done: () => boolean, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (v: boolean) => {
      stop();
      clearTimeout(timer);
      resolve(v);
    };
    // Watching first, then looking: a change between the two cannot be missed.
    const stop = reg.watch(() => {
      if (done()) finish(true);
    });
    if (done()) return finish(true);
    timer = setTimeout(() => finish(done()), ms);
  });
}

/** Makes the pool's supervisor act on its row: a SIGHUP to the live one, or a new one. */
function nudge(reg: Registry, p: Pool, launchBin: string): void {
  if (supervised(p) && p.supervisor) {
    try {
      process.kill(p.supervisor.pid, 'SIGHUP');
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') throw new ExitError(`you may not signal pool ${p.name}'s supervisor (pid ${p.supervisor.pid}); ask its owner`, EXIT.refused);
    }
  }
  if (p.desired > 0 || instances(reg, p.name).length > 0) startSupervisor(reg, p.name, launchBin);
}

export interface ScaleResult {
  pool: string;
  desired: number;
  running: number;
  /** made, scaled or kept; and the sentence control prints. */
  verb: 'made' | 'scaled' | 'kept';
  message: string;
}

/**
 * Makes a pool (with `made`: its command and options) or sets how many instances an existing one
 * keeps, wakes its supervisor, and waits until that many run. Shared by control --scale and the
 * HTTP API (which only rescales: it never makes a pool, that is, never runs a new command).
 */
export async function scalePool(reg: Registry, name: string, desired: number, launchBin: string, made?: { command: string[]; options: PoolOptions; given: string[] }): Promise<ScaleResult> {
  const before = reg.pool(name);
  if (before && made && made.command.length > 0 && JSON.stringify(made.command) !== JSON.stringify(before.command)) {
    throw new ExitError(`pool ${name} runs ${JSON.stringify(before.command)}; to run something else, scale it to 0 and --delete-pool it first`, EXIT.refused);
  }
  if (before && made && made.given.length > 0) throw new ExitError(`pool ${name}'s options are fixed when it is made (${made.given.map((f) => `--${f}`).join(', ')} given); scale it to 0 and --delete-pool it to change them`, EXIT.refused);
  const r = reg.scalePool(name, desired, made && made.command.length > 0 ? { command: made.command, options: made.options } : null);
  if ('missing' in r) throw new ExitError(`there is no pool ${name}; make it with its command after --, as in: control --scale ${name} ${desired} -- ./worker.sh`, EXIT.refused);
  const p = reg.pool(name) as Pool;
  nudge(reg, p, launchBin);
  const wait = (p.options.graceSec + 10) * 1000;
  const reached = await until(reg, () => {
    const live = instances(reg, name);
    return live.filter(runningInstance).length === desired && live.length === desired;
  }, wait);
  const running = instances(reg, name).filter(runningInstance).length;
  const verb = r.created ? 'made' : before && before.desired === desired ? 'kept' : 'scaled';
  const message = `pool ${name} ${verb}: ${running} of ${desired} running${verb === 'scaled' ? ` (was ${before!.desired})` : ''}`;
  const result: ScaleResult = { pool: name, desired, running, verb, message };
  if (!reached) throw Object.assign(new ExitError(`${message}, not yet ${desired} after ${wait / 1000} s; see control --pools and the log beside the registry (logs/${name}.pool.log)`, EXIT.refused), { result });
  return result;
}

/** control --scale NAME N [--feedpath DIR --timeout S ...] [-- CMD ARGS] */
export const command: Command = (a) => {
  const [rawName, rawN, ...extra] = a.scale ?? [];
  if (extra.length > 0 || rawN === undefined) throw new ExitError('--scale takes a pool name and a number of instances, as in: control --scale web 4 -- ./server.sh', EXIT.usage);
  const name = poolName(rawName, '--scale');
  if (!/^\d+$/.test(rawN) || Number(rawN) > MAX_INSTANCES) throw new ExitError(`--scale needs a number of instances from 0 to ${MAX_INSTANCES}; got '${rawN}'`, EXIT.usage);
  const desired = Number(rawN);
  const cmd = a.command ?? [];
  const given = OPTION_FLAGS.filter((f) => (a as unknown as Record<string, unknown>)[f.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())] !== undefined);
  const options = poolOptions(a);
  return async (reg, out) => {
    let r: ScaleResult;
    try {
      r = await scalePool(reg, name, desired, a.launchBin, { command: cmd, options, given: [...given] });
    } catch (err) {
      const partial = (err as { result?: ScaleResult }).result;
      if (partial) out(a.json ? JSON.stringify({ pool: name, desired, running: partial.running }) : partial.message);
      throw err;
    }
    out(a.json ? JSON.stringify({ pool: name, desired, running: r.running }) : r.message);
    return EXIT.ok;
  };
};

/** Stops a pool's instances if any run, then forgets it. */
export async function deletePool(reg: Registry, name: string, launchBin: string): Promise<void> {
  const p = reg.pool(name);
  if (!p) throw new ExitError(`there is no pool ${name}; nothing to delete`, EXIT.refused);
  if (p.desired > 0) {
    reg.scalePool(name, 0, null);
    nudge(reg, reg.pool(name) as Pool, launchBin);
  }
  if (!supervised(p)) {
    // Nobody supervises them: end what is left ourselves.
    await Promise.all(instances(reg, name).map((t) => settleLost(reg, t, { note: `pool ${name} deleted by control (pid ${process.pid})`, graceSec: t.graceSec })));
  }
  const gone = await until(reg, () => instances(reg, name).length === 0, (p.options.graceSec + 10) * 1000);
  if (!gone) throw new ExitError(`pool ${name}'s instances did not stop within ${p.options.graceSec + 10} s; it is scaled to 0 but not deleted`, EXIT.refused);
  reg.deletePool(name);
}

/** control --delete-pool NAME: stops its instances if any run, then forgets the pool. */
export const commandDelete: Command = (a) => {
  const name = poolName(a.deletePool, '--delete-pool');
  return async (reg, out) => {
    await deletePool(reg, name, a.launchBin);
    out(a.json ? JSON.stringify({ deleted: name }) : `pool ${name} deleted`);
    return EXIT.ok;
  };
};
