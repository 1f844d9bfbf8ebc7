import { statSync, type Stats } from 'node:fs';
import { basename, join, resolve as resolvePath } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitError, EXIT, SIGNAL_BASE } from '../errors';
import { describeDbError, isBusy } from '../db/errors';
import { openFor } from '../db/open';
import { ANY_TASK, type LaunchFields, type Registry } from '../db/registry';
import { openRegistry } from '../db/sqlite';
import { createFeedbackFile, heartbeatOf } from '../feedback/file';
import { markEnv, procStartTime } from '../proc/identity';
import { createTaskCgroup, removeCgroup } from '../proc/cgroup';
import { survey, type TaskTarget } from '../proc/members';
import { terminate } from '../proc/terminate';
import type { LaunchedTask } from '../task/model';
import { escapedNote, leftBehindNote, unprovenNote } from '../task/notes';
import { endingFields, endingOf, exitStatus, failedToStart, signalNumber, type Ending, type Exit } from '../task/outcome';
import { nextRun, type RestartState } from '../task/restart';
import { endTask } from '../archive';
import { longTimeout } from '../timer';
import { HeartbeatWatch } from './heartbeat';
import { Race, Runs } from './race';
import { ignoredOnEntry, LaunchSignals } from './signals';
import { spawnTask } from './spawn';
import { TaskLogs } from './output';
import type { LaunchOptions } from './args';

/** Our own variables, never passed down from launch's environment: each task gets its own or none. */
const INHERITED_NOT = new Set(['TASKWATCH_FEEDBACK', 'TASKWATCH_SIGIGN', 'TASKWATCH_POOL', 'TASKWATCH_INSTANCE']);

/** How long the child's pid may wait for a locked registry before the task is stopped rather than run unrecorded. */
const RECORD_PID_MS = 15_000;

export type Log = (m: string) => void;

/** Diagnostics go to stderr and are never fatal: a closed stderr must not cost the task its watcher. */
const say = (m: string) => {
  try {
    process.stderr.write(`${m}\n`);
  } catch {
    /* EPIPE: nobody reads it */
  }
};

export async function launch(o: LaunchOptions): Promise<number> {
  // Debug lines carry epoch ms, so a benchmark can time the archive against the child's exit.
  const log: Log = o.debug ? (m) => say(`launch: [${Date.now()}] ${m}`) : () => {};
  // Handlers first: a signal that arrives before the task exists must neither kill launch
  // (leaving a row, or a child, nobody watches) nor be forgotten.
  const runs = new Runs(log);
  const ignored = ignoredOnEntry(process.env.TASKWATCH_SIGIGN);
  new LaunchSignals(ignored, (s) => runs.signalled(s), (s) => runs.forward(s)).install();
  const feedDir = o.feedpath === undefined ? null : checkFeedDir(o.feedpath);
  const reg = openFor(o.db, { create: true });
  const holder = { reg }; // the registry at that path, which may be a new one by the time the task ends
  try {
    const task = takeTask(reg, o, feedDir);
    reg.setBusyTimeout(0); // from here on the watch never waits for the registry: its writes are advice
    const unhear = reg.locks ? hearKills(reg, task.id, runs, log) : () => {};
    try {
      return await supervise(holder, task, o, { runs, ignored }, log);
    } finally {
      unhear();
    }
  } finally {
    holder.reg.close();
  }
}

/**
 * Kill requests that come through the registry rather than as a signal, taken as the SIGTERM control
 * sends a lone launcher on SQLite (the request's note and grace are read the same way): every
 * request on PostgreSQL, whose NOTIFY crosses hosts, and on either one the requests for a pool's
 * instance, whose supervisor watches many tasks. Returns what stops listening.
 */
export function hearKills(reg: Registry, id: number, runs: Runs, log: Log): () => void {
  let heard = false;
  const look = () => {
    if (heard || killNote(reg, id, log) === null) return;
    heard = true;
    log(`task ${id}: a kill was requested through the registry`);
    runs.signalled('SIGTERM');
  };
  const stop = reg.onKillRequest((k) => (k === id || k === ANY_TASK) && look());
  look(); // a request written before the LISTEN began
  return stop;
}

export function checkFeedDir(dir: string): string {
  const abs = resolvePath(dir);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch {
    throw new ExitError(`--feedpath ${dir} does not exist; create the directory first`, EXIT.launchFailed);
  }
  if (!st.isDirectory()) throw new ExitError(`--feedpath ${dir} is not a directory`, EXIT.launchFailed);
  return abs;
}

/** Claims the reserved --taskid, or reserves and claims a new id, recording who watches it. */
export function takeTask(reg: Registry, o: LaunchOptions, feedDir: string | null): LaunchedTask {
  const fields: LaunchFields = {
    name: o.name,
    info1: o.info1,
    info2: o.info2,
    info3: o.info3,
    command: o.command,
    feedDir,
    timeoutSec: feedDir ? o.timeoutSec : null,
    maxTimeSec: o.maxTimeSec ?? null,
    graceSec: o.graceSec,
    launcher: { pid: process.pid, start: procStartTime(process.pid) ?? 0 },
    rule: o.rule,
    logs: { stdout: o.log?.stdout ?? null, stderr: o.log?.stderr ?? null },
    pool: o.pool,
  };
  try {
    if (o.taskid === undefined) {
      const t = reg.startNew({ ...fields, name: o.name ?? basename(o.command[0]) });
      say(`taskid ${t.id}`);
      return t;
    }
    const id = o.taskid;
    const claim = reg.claim(id, fields);
    if (typeof claim === 'object') return claim.claimed;
    const ended = reg.historyOf(id);
    if (claim === 'taken') throw new ExitError(`task ${id} is not reserved: another launcher has already taken it`, EXIT.launchFailed);
    if (ended) throw new ExitError(`task ${id} has already run and ended (outcome ${ended.outcome ?? 'unknown'}); reserve a new id`, EXIT.launchFailed);
    throw new ExitError(`task ${id} is not reserved (never reserved, or its reservation lapsed); run control --reserve first`, EXIT.launchFailed);
  } catch (err) {
    if (err instanceof ExitError) throw err;
    throw describeDbError(err, reg.file);
  }
}

/** What one run came to, for the loop to archive and to decide whether another follows. */
interface RunResult {
  /** The task as this run's watcher knows it (its leader, cgroup). */
  self: LaunchedTask;
  ending: Ending;
  notes: string[];
  endedAt?: number;
  /** The pid could not be recorded, so the task was stopped: launch exits 125. */
  unrecorded?: boolean;
  /** Ends what the run left behind: awaited after the archive. */
  cleanup: () => Promise<void>;
}

/**
 * Runs the task, and again as its --restart rule says, each run archived as its own history row.
 * The row stays between runs (BACKOFF); a stop signal (control --kill) at any time means no run
 * follows, and neither does a kill request the registry holds.
 */
export interface RunHooks {
  /** After each run is archived: how it ended, and whether another run follows. */
  onRun?: (ending: Ending, restarting: boolean) => void;
}

export async function supervise(holder: { reg: Registry }, first: LaunchedTask, o: LaunchOptions, sig: { runs: Runs; ignored: string[] }, log: Log, hooks: RunHooks = {}): Promise<number> {
  const { runs } = sig;
  let task = first;
  let state: RestartState = { restarts: 0, streak: 0 };
  for (;;) {
    const r = await runOnce(holder, task, o, { race: runs.next(), ignored: sig.ignored }, log);
    const ranMs = ((r.endedAt ?? Date.now() / 1000) - task.startedAt) * 1000;
    const request = killNote(holder.reg, task.id, log);
    const stopped = runs.stopped !== null || request !== null;
    const decision = r.unrecorded || stopped ? null : nextRun(task.rule, r.ending, ranMs, state);
    const restartAt = decision?.restart ? Date.now() / 1000 + decision.delayMs / 1000 : undefined;
    if (task.rule.policy !== 'no' && r.ending.outcome !== 'killed') {
      if (stopped) r.notes.push(`not restarted: ${request ?? `launch received ${runs.stopped}`}`);
      else if (decision && !decision.restart) r.notes.push(`not restarted: ${decision.why}`);
    }
    let status = await archive(holder, r.self, r.ending, { notes: r.notes, endedAt: r.endedAt, keepFeedback: o.keepFeedback, restartAt }, log);
    log(`task ${task.id}: run ${task.run} archived`);
    hooks.onRun?.(r.ending, decision?.restart === true);
    await r.cleanup();
    if (r.unrecorded) status = EXIT.launchFailed;
    if (!decision?.restart || status === EXIT.launchFailed) return status;
    state = decision.next;
    log(`task ${task.id}: run ${task.run + 1} in ${decision.delayMs} ms`);
    const next = (await runs.wait(decision.delayMs)) && killNote(holder.reg, task.id, log) === null ? holder.reg.beginRun(r.self) : undefined;
    if (!next) {
      // Stopped while it waited: the last run's record says it was not restarted, and why.
      const why = runs.stopped ? `launch received ${runs.stopped}` : 'a kill was requested';
      holder.reg.setBusyTimeout(5000); // the task's last write: worth waiting for another writer
      advise(() => holder.reg.endBetweenRuns(r.self, `not restarted: ${killNote(holder.reg, task.id) ?? why} while it waited to restart`), log);
      return runs.stopped ? SIGNAL_BASE + signalNumber(runs.stopped) : status;
    }
    task = next;
  }
}

/** control --kill's request for this task, if the registry holds one (reading never waits on a writer). */
function killNote(reg: Registry, id: number, log?: Log): string | null {
  try {
    const t = reg.task(id);
    return t && t.state !== 'RESERVED' ? (t.killRequest?.note ?? null) : null;
  } catch (err) {
    log?.(`could not read the registry: ${(err as Error).message}`);
    return null;
  }
}

/** One run: the feedback file made fresh, the command spawned into its containment and watched until it exits. */
async function runOnce(holder: { reg: Registry }, task: LaunchedTask, o: LaunchOptions, sig: { race: Race; ignored: string[] }, log: Log): Promise<RunResult> {
  const { race } = sig;
  const reg = holder.reg;
  const mark = { id: task.id, registryKey: reg.key };
  const feedFile = task.watch?.feedFile ?? null;
  const nothingLeft = async () => {};
  const notStarted = (ending: Ending): RunResult => ({ self: task, ending, notes: [], cleanup: nothingLeft });

  if (feedFile) {
    try {
      createFeedbackFile(feedFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'EEXIST'
        ? `its feedback file ${feedFile} already exists: launch makes it fresh and never adopts one (a stale file, or a link someone planted)`
        : `cannot create its feedback file ${feedFile} (${code ?? (err as Error).message})`;
      say(`launch: ${why}`);
      return notStarted(failedToStart(null, o.command[0], why));
    }
  }
  await new Promise((r) => setImmediate(r)); // a signal that came while the claim waited is handled now, before the spawn
  if (race.early) return notStarted(endingOf({ code: null, signal: race.early }, { kind: 'killed', note: `launch received ${race.early} before the command started, so it never ran` }));

  let logs: TaskLogs | null = null;
  if (o.log) {
    try {
      logs = new TaskLogs(o.log);
    } catch (err) {
      say(`launch: ${(err as Error).message}`);
      return notStarted(failedToStart(null, o.command[0], (err as Error).message));
    }
  }
  const cg = createTaskCgroup(reg.key, task.id);
  const env: NodeJS.ProcessEnv = {
    ...markEnv(mark),
    TASKWATCH_DB: reg.dbArg,
    ...(feedFile ? { TASKWATCH_FEEDBACK: feedFile } : {}),
    // A pool instance knows its place, as pm2's NODE_APP_INSTANCE and supervisord's process_num tell theirs.
    ...(o.pool ? { TASKWATCH_POOL: o.pool.name, TASKWATCH_INSTANCE: String(o.pool.instance) } : {}),
  };
  for (const [k, v] of Object.entries(process.env)) if (!(k in env) && !INHERITED_NOT.has(k)) env[k] = v;
  const sp = await spawnTask({
    command: o.command,
    env,
    cgroupProcs: 'dir' in cg ? join(cg.dir, 'cgroup.procs') : null,
    ownGroup: !o.foreground,
    ignore: sig.ignored,
    pipe: { stdout: o.log?.stdout != null, stderr: o.log?.stderr != null },
  });
  if (!sp.ok) {
    await logs?.close();
    if ('dir' in cg) removeCgroup(cg.dir);
    const ending = failedToStart(sp.errno, o.command[0], sp.message);
    say(`launch: ${endingFields(ending).termerror}`);
    return notStarted(ending);
  }
  logs?.follow(sp.output.stdout, sp.output.stderr);
  const cgroup = 'dir' in cg && sp.joinedCgroup ? cg.dir : null;
  if ('dir' in cg && !cgroup) removeCgroup(cg.dir);
  log(`task ${task.id}: run ${task.run}, pid ${sp.pid} started; ${cgroup ? `cgroup ${cgroup}` : `process group (${'why' in cg ? cg.why : sp.note})`}`);
  const leader = { pid: sp.pid, start: procStartTime(sp.pid) ?? 0 };
  const target: TaskTarget = { mark, cgroup, pgid: sp.ownGroup ? sp.pid : null, leaderHeld: true, notBefore: leader.start };
  const self: LaunchedTask = { ...task, leader, pgid: target.pgid, cgroup };
  race.running(target, o.graceSec, () => {
    try {
      const t = holder.reg.task(task.id);
      return t && t.state !== 'RESERVED' ? t.killRequest : null;
    } catch (err) {
      log(`could not read the registry: ${(err as Error).message}`);
      return null;
    }
  });

  let exited = false;
  const recording = recordChild(reg, self, () => exited, log).then((r) => {
    if (r === 'failed') race.stop({ kind: 'killed', note: `launch could not record its pid in the registry within ${RECORD_PID_MS / 1000} s, and stopped it rather than let it run unrecorded` });
    return r;
  });
  const maxTimer = o.maxTimeSec === undefined ? null : longTimeout(() => race.stop({ kind: 'timeout', note: `ran longer than --max-time ${o.maxTimeSec} s` }), o.maxTimeSec * 1000, { precise: true });
  const heartbeat = feedFile
    ? new HeartbeatWatch(feedFile, o.timeoutSec * 1000, heartbeatOf(feedFile),
      (status, beatMs) => {
        log(`task ${task.id}: ${status}`);
        advise(() => holder.reg.setStatus(task.id, status, beatMs / 1000), log);
      },
      () => race.stop({ kind: 'timeout', note: `no heartbeat for ${o.timeoutSec} s (--timeout)` }),
      !o.pool)
    : null;
  heartbeat?.start();

  const exit: Exit = await sp.exited;
  const endedAt = Date.now() / 1000;
  exited = true;
  target.leaderHeld = false;
  heartbeat?.stop();
  maxTimer?.cancel();
  const recorded = await recording;

  // What the command left behind: ended like the rest of the task (as systemd does), and said so.
  const notes: string[] = [];
  if (sp.note) notes.push(`no cgroup: ${sp.note}`);
  const left = survey(target);
  if (!race.reason && left.pids.length > 0) {
    notes.push(leftBehindNote(left.pids.length));
    race.terminating = terminate(target, o.graceSec * 1000);
  }
  if (left.unproven > 0 && target.pgid !== null) notes.push(unprovenNote(left.unproven, target.pgid));
  if (left.escaped > 0) notes.push(escapedNote(left.escaped));
  race.settleNote();
  const ending = endingOf(exit, race.reason);
  log(`task ${task.id}: ${ending.outcome}`);
  const cleanup = async () => {
    if (race.terminating) await race.terminating; // what is left still gets its SIGKILL after the grace
    await logs?.close();
    if (cgroup) removeCgroup(cgroup);
  };
  return { self, ending, notes, endedAt, unrecorded: recorded === 'failed', cleanup };
}

/**
 * The child's pid must be in the registry, or nothing could find the task if launch died: retried
 * without blocking the watch (a kill must land on time whatever the registry does) until it is
 * written ('recorded'), the child has exited anyway ('moot'), or it fails or RECORD_PID_MS passes
 * ('failed': the task is then stopped).
 */
async function recordChild(reg: Registry, t: LaunchedTask, exited: () => boolean, log: Log): Promise<'recorded' | 'moot' | 'failed'> {
  const deadline = Date.now() + RECORD_PID_MS;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      if (t.leader) reg.setChild(t.id, t.leader, t.pgid, t.cgroup);
      return 'recorded';
    } catch (err) {
      if (exited()) return 'moot';
      if (!isBusy(err) || Date.now() >= deadline) {
        log(`could not record the pid: ${(err as Error).message}`);
        return 'failed';
      }
    }
    await sleep(wait);
  }
}

/** Status writes are advice for readers, who derive the truth anyway: a locked file must not stop the watch. */
function advise(f: () => void, log: Log): void {
  try {
    f();
  } catch (err) {
    log(`could not record status: ${(err as Error).message}`);
  }
}

/**
 * Archives the ending into the registry at the same path: if the file was deleted or replaced while
 * the task ran, into the one there now (made anew if need be), and says so in the record. If no
 * registry can take it even after retries, says so and prints the ending as JSON.
 */
async function archive(holder: { reg: Registry }, t: LaunchedTask, ending: Ending, opts: { notes: string[]; endedAt?: number; keepFeedback: boolean; restartAt?: number }, log: Log): Promise<number> {
  const notes = [...opts.notes];
  const file = holder.reg.file;
  try {
    if (!holder.reg.stillAtPath()) {
      log(`${file} was deleted or replaced; archiving into the registry at that path now`);
      holder.reg.close();
      holder.reg = openRegistry(file, { create: true, busyMs: 1000 });
      notes.push(`archived into a new registry at ${file}: the one it started in was deleted or replaced while it ran`);
    }
    holder.reg.setBusyTimeout(100);
    await endTask(holder.reg, t, ending, { ...opts, notes });
    holder.reg.setBusyTimeout(0); // a next run's watch never waits for the registry
    return exitStatus(ending);
  } catch (err) {
    const e = describeDbError(err, file);
    const record = JSON.stringify({ taskid: t.id, name: t.name, ...endingFields(ending, notes), starttime: t.startedAt, endtime: opts.endedAt ?? Date.now() / 1000 });
    say(`launch: task ${t.id} ended but could not be archived: ${e.message}\nlaunch: the ending was: ${record}`);
    return EXIT.launchFailed;
  }
}
