import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isBusy } from '../db/errors';
import { openFor } from '../db/open';
import type { Registry } from '../db/registry';
import { isLauncher, procStartTime } from '../proc/identity';
import type { LaunchedTask, Pool } from '../task/model';
import type { Ending } from '../task/outcome';
import { launcherAlive, settleLost } from '../lost';
import type { LaunchOptions } from '../launch/args';
import { checkFeedDir, hearKills, supervise, takeTask, type Log } from '../launch/launch';
import { Runs } from '../launch/race';
import { FORWARD_SIGNALS, STOP_SIGNALS } from '../launch/signals';

// A pool's supervisor: one launch process keeps all N instances of a pool alive. Each instance is
// an ordinary task (its own id, heartbeat, history and restarts), run by the same code a lone
// launch runs, so an instance costs this process a few objects, not a Node process of its own.
// Pools share nothing but the registry: this is workerpoolmanager's manager without its daemon.
// It wakes on SIGHUP (control --scale changed the pool) and on its instances' own events; a stop
// signal ends every instance and the supervisor with them.

interface Instance {
  runs: Runs;
  done: Promise<unknown>;
  /** Being stopped: scaled away, or the supervisor is stopping. */
  leaving: boolean;
  /** How its last run ended: a kill is replaced at once; giving up (--max-restarts) waits for the next --scale. */
  last: Ending | null;
}

/** Where an instance's output goes: a file per instance beside the registry, rotated. */
export const instanceLog = (home: string, pool: string, n: number): string => join(home, 'logs', `${pool}.${n}.log`);

function instanceOptions(p: Pool, n: number, reg: Registry, debug: boolean): LaunchOptions {
  const log = instanceLog(reg.home, p.name, n);
  return {
    db: reg.dbArg,
    name: p.name,
    feedpath: p.options.feedDir ?? undefined,
    timeoutSec: p.options.timeoutSec,
    graceSec: p.options.graceSec,
    maxTimeSec: p.options.maxTimeSec ?? undefined,
    keepFeedback: false,
    foreground: false,
    rule: p.options.rule,
    log: { stdout: log, stderr: log, maxBytes: p.options.logMaxBytes, keep: p.options.logKeep },
    debug,
    command: p.command,
    pool: { name: p.name, instance: n },
  };
}

/** Retries a write that another writer's lock holds up, without blocking the other instances' watches. */
async function written<T>(f: () => T, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      return f();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
    }
    await sleep(wait);
  }
}

export async function superviseePool(name: string, dbFlag: string | undefined, debug: boolean, log: Log): Promise<number> {
  const reg = openFor(dbFlag, { create: false });
  const holder = { reg };
  const me = { pid: process.pid, start: procStartTime(process.pid) ?? 0 };
  try {
    if (!reg.claimPool(name, me, (p) => isLauncher(p.pid, p.start))) {
      log(`pool ${name} is gone, or another supervisor keeps it`);
      return 0;
    }
    reg.setBusyTimeout(0); // the watches never wait for the registry; writes that must land are retried
    await settleOrphans(reg, name, log);
    return await new Keeper(holder, name, debug, log).run();
  } finally {
    try {
      holder.reg.setBusyTimeout(5000);
      holder.reg.releasePool(name, me);
    } catch (err) {
      log(`could not let the pool go: ${(err as Error).message}`);
    }
    holder.reg.close();
  }
}

/** The instances a supervisor before this one left (it was SIGKILLed): ended, proven theirs, and archived. */
async function settleOrphans(reg: Registry, name: string, log: Log): Promise<void> {
  const orphans = reg.poolTasks(name).filter((t): t is LaunchedTask => t.state !== 'RESERVED' && !launcherAlive(t));
  await Promise.all(orphans.map(async (t) => {
    const s = await written(() => settleLost(reg, t, { note: `ended by pool ${name}'s new supervisor (pid ${process.pid})`, graceSec: t.graceSec }));
    log(s.message);
  }));
}

class Keeper {
  private readonly instances = new Map<number, Instance>();
  /** Instances that gave up (their restarts ran out): left down until control --scale asks again. */
  private readonly down = new Set<number>();
  private stopping: NodeJS.Signals | null = null;
  private finished: () => void = () => {};

  constructor(
    private readonly holder: { reg: Registry },
    private readonly name: string,
    private readonly debug: boolean,
    private readonly log: Log,
  ) {}

  run(): Promise<number> {
    for (const sig of STOP_SIGNALS.filter((s) => s !== 'SIGHUP')) process.on(sig, () => this.stop(sig));
    process.on('SIGHUP', () => {
      this.down.clear(); // control --scale: every wanted instance is wanted again
      this.reconcile();
    });
    for (const sig of FORWARD_SIGNALS) process.on(sig, () => this.instances.forEach((i) => i.runs.forward(sig)));
    // Signal handlers do not keep Node running: with every instance down (finished, or out of restarts) this
    // process must still be here, the pool's supervisor, when control --scale asks again.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    const done = new Promise<void>((r) => (this.finished = r));
    this.reconcile();
    return done.then(() => {
      clearInterval(keepAlive);
      return this.stopping ? 128 + 15 : 0;
    });
  }

  private stop(sig: NodeJS.Signals): void {
    this.stopping ??= sig;
    for (const i of this.instances.values()) this.leave(i, sig);
    this.settle();
  }

  private leave(i: Instance, sig: NodeJS.Signals): void {
    i.leaving = true;
    i.runs.signalled(sig);
  }

  /** Brings the instances to what the pool wants: 1..desired running, any above stopped. */
  reconcile(): void {
    let p: Pool | undefined;
    try {
      p = this.holder.reg.pool(this.name);
    } catch (err) {
      this.log(`could not read the pool: ${(err as Error).message}`);
      return;
    }
    const want = this.stopping || !p ? 0 : p.desired;
    for (const [n, i] of this.instances) if (n > want && !i.leaving) this.scaleAway(n, i, want);
    if (p) for (let n = 1; n <= want; n++) if (!this.instances.has(n) && !this.down.has(n)) this.start(p, n);
    this.settle();
  }

  private scaleAway(n: number, i: Instance, want: number): void {
    const note = `pool ${this.name} scaled to ${want}`;
    const id = this.taskOf(n);
    if (id !== null) {
      try {
        this.holder.reg.requestKill(id, null, note);
      } catch {
        /* the note is advice: the signal below stops it either way */
      }
    }
    this.leave(i, 'SIGTERM');
  }

  private taskOf(n: number): number | null {
    try {
      const t = this.holder.reg.poolTasks(this.name).find((x) => x.state !== 'RESERVED' && x.pool?.instance === n);
      return t?.id ?? null;
    } catch {
      return null;
    }
  }

  /** Starts instance n as a new task, and starts it again (a new task) if it ends for good while still wanted. */
  private start(p: Pool, n: number): void {
    const runs = new Runs(this.log);
    const instance: Instance = { runs, leaving: false, done: Promise.resolve(), last: null };
    this.instances.set(n, instance);
    instance.done = (async () => {
      const o = instanceOptions(p, n, this.holder.reg, this.debug);
      let task: LaunchedTask;
      try {
        mkdirSync(dirname(instanceLog(this.holder.reg.home, p.name, n)), { recursive: true, mode: 0o700 });
        const feedDir = o.feedpath === undefined ? null : checkFeedDir(o.feedpath);
        task = await written(() => takeTask(this.holder.reg, o, feedDir));
      } catch (err) {
        this.log(`instance ${n} could not start: ${(err as Error).message}`);
        await sleep(1000); // the next reconcile tries again; a broken pool must not spin
        return;
      }
      // control --kill of one instance comes through the registry, never as a signal to this process (which is every instance's).
      const unhear = hearKills(this.holder.reg, task.id, runs, this.log);
      await supervise(this.holder, task, o, { runs, ignored: [] }, this.log, {
        onRun: (e, restarting) => {
          instance.last = e;
          const stalled = e.outcome === 'timeout' ? 1 : 0;
          const dead = e.outcome === 'killed' ? 0 : e.outcome === 'exited' && e.code === 0 ? 0 : 1;
          void written(() => this.holder.reg.countPool(this.name, { dead, stalled, restarts: restarting ? 1 : 0 })).catch(() => {});
        },
      }).finally(unhear);
    })().finally(() => {
      this.instances.delete(n);
      if (!instance.leaving && !this.stopping && instance.last && instance.last.outcome !== 'killed') {
        const why = instance.last.outcome === 'exited' && instance.last.code === 0 ? 'finished (exit 0, not restarted by its rule)' : 'gave up (its restarts ran out)';
        this.log(`instance ${n} ${why}; it stays down until control --scale ${this.name} asks again`);
        this.down.add(n);
      }
      if (!instance.leaving && !this.stopping) this.reconcile(); // killed while wanted: a new one
      else this.settle();
    });
  }

  private settle(): void {
    if (this.instances.size > 0) return;
    if (this.down.size > 0 && !this.stopping) return; // still the pool's supervisor, waiting to be asked again
    let want = 0;
    try {
      want = this.stopping ? 0 : (this.holder.reg.pool(this.name)?.desired ?? 0);
    } catch {
      /* keep going: want 0 ends us only if asked to */
    }
    if (want === 0) this.finished();
  }
}
