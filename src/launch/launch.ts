import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync, type Stats } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import { ExitError, describeDbError } from '../errors';
import { openFor } from '../db/open';
import type { LaunchFields, Registry } from '../db/registry';
import { feedbackFileName } from '../feedback/file';
import { procStartTime } from '../proc/identity';
import { signalGroup, terminateGroup, type GroupTarget, type TerminateResult } from '../proc/terminate';
import { EXIT_LAUNCH_FAILED, resultOfExit, resultOfSpawnError, type Result, type StopReason } from '../outcome';
import { endTask } from '../ending';
import { HeartbeatWatch } from './heartbeat';
import type { LaunchOptions } from './args';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export async function launch(o: LaunchOptions): Promise<number> {
  // Debug lines carry epoch ms, so a benchmark can time the archive against the child's exit.
  const log = o.debug ? (m: string) => process.stderr.write(`launch: [${Date.now()}] ${m}\n`) : () => {};
  const feedDir = o.feedpath === undefined ? null : checkFeedDir(o.feedpath);
  const reg = openFor(o.db, EXIT_LAUNCH_FAILED);
  try {
    const id = takeTask(reg, o, feedDir);
    return await watch(reg, id, feedDir ? feedbackFileName(feedDir, id) : null, o, log);
  } finally {
    reg.close();
  }
}

function checkFeedDir(dir: string): string {
  const abs = resolvePath(dir);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch {
    throw new ExitError(`--feedpath ${dir} does not exist; create the directory first`, EXIT_LAUNCH_FAILED);
  }
  if (!st.isDirectory()) throw new ExitError(`--feedpath ${dir} is not a directory`, EXIT_LAUNCH_FAILED);
  return abs;
}

/** Claims the reserved --taskid, or reserves and claims a new id, recording who watches it. */
function takeTask(reg: Registry, o: LaunchOptions, feedDir: string | null): number {
  const fields: Omit<LaunchFields, 'feedpath'> = {
    name: o.name,
    info1: o.info1,
    info2: o.info2,
    info3: o.info3,
    command: o.command,
    timeout: feedDir ? o.timeoutSec : null,
    grace: o.graceSec,
    launcherPid: process.pid,
    launcherStart: procStartTime(process.pid),
  };
  try {
    if (o.taskid === undefined) {
      const id = reg.startNew({ ...fields, name: o.name ?? basename(o.command[0]) }, feedDir ? (n) => feedbackFileName(feedDir, n) : null);
      process.stderr.write(`taskid ${id}\n`);
      return id;
    }
    const id = o.taskid;
    const claim = reg.claim(id, { ...fields, feedpath: feedDir ? feedbackFileName(feedDir, id) : null });
    if (claim === 'claimed') return id;
    const ended = reg.historyOf(id);
    if (claim === 'taken') throw new ExitError(`task ${id} is not reserved: another launcher has already taken it`, EXIT_LAUNCH_FAILED);
    if (ended) throw new ExitError(`task ${id} has already run and ended (outcome ${ended.outcome ?? 'unknown'}); reserve a new id`, EXIT_LAUNCH_FAILED);
    throw new ExitError(`task ${id} is not reserved (never reserved, or its reservation lapsed); run control --reserve first`, EXIT_LAUNCH_FAILED);
  } catch (err) {
    throw describeDbError(err, reg.file, EXIT_LAUNCH_FAILED);
  }
}

/**
 * The race: the child exits, its heartbeat goes quiet, --max-time passes, or launch is signalled
 * (which is how control --kill asks). The first stop reason is kept; whatever happens, the ending
 * is archived the moment the child exits, and leftovers of the group still get SIGKILL after the grace.
 */
async function watch(reg: Registry, id: number, feedFile: string | null, o: LaunchOptions, log: (m: string) => void): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, TASKWATCH_TASKID: String(id), TASKWATCH_DB: reg.file };
  if (feedFile) env.TASKWATCH_FEEDBACK = feedFile;
  else delete env.TASKWATCH_FEEDBACK; // not ours to inherit from an outer launch

  let child;
  try {
    child = spawn(o.command[0], o.command.slice(1), { stdio: 'inherit', detached: true, env });
  } catch (err) {
    return failToStart(reg, id, err as NodeJS.ErrnoException, o.command[0]);
  }
  if (child.pid === undefined) {
    const [err] = (await once(child, 'error').catch((e) => [e])) as [NodeJS.ErrnoException];
    return failToStart(reg, id, err, o.command[0]);
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const target: GroupTarget = { pgid: child.pid, leaderStart: procStartTime(child.pid) ?? -1 };
  const startMs = Date.now();
  trySave(() => reg.setChild(id, child.pid as number, target.leaderStart), log);
  log(`task ${id}: pid ${child.pid} started`);

  let reason: StopReason | null = null;
  let terminating: Promise<TerminateResult> | null = null;
  const stop = (r: StopReason, graceSec: number) => {
    if (reason) return;
    reason = r;
    log(`task ${id}: stopping (${r.note}); SIGTERM to group ${target.pgid}, SIGKILL after ${graceSec} s`);
    terminating = terminateGroup(target, graceSec * 1000);
  };

  const onSignal = (sig: NodeJS.Signals) => {
    if (reason) {
      if (sig === 'SIGINT') signalGroup(target, 'SIGKILL'); // a second Ctrl-C does not wait for the grace
      return;
    }
    const req = tryRead(() => reg.task(id), log); // control --kill leaves its note and grace here before signalling
    if (req?.kill_note) stop({ kind: 'killed', note: req.kill_note }, req.kill_grace ?? o.graceSec);
    else stop({ kind: 'killed', note: `launch received ${sig}` }, o.graceSec);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);

  const maxTimer = o.maxTimeSec === undefined ? undefined : setTimeout(() => stop({ kind: 'timeout', note: `ran longer than --max-time ${o.maxTimeSec} s` }, o.graceSec), o.maxTimeSec * 1000);
  const heartbeat = feedFile
    ? new HeartbeatWatch(
        feedFile,
        o.timeoutSec * 1000,
        startMs,
        (status, beatMs) => {
          log(`task ${id}: ${status}`);
          trySave(() => reg.setStatus(id, status, beatMs / 1000), log);
        },
        () => stop({ kind: 'timeout', note: `no heartbeat for ${o.timeoutSec} s (--timeout)` }, o.graceSec),
      )
    : null;
  heartbeat?.start();

  const [code, signal] = await exited;
  heartbeat?.stop();
  clearTimeout(maxTimer);
  const result = resultOfExit(code, signal, reason);
  log(`task ${id}: ${result.outcome}${result.termerror ? ` (${result.termerror})` : ''}`);
  const status = await archive(reg, id, feedFile, result, o.keepFeedback);
  log(`task ${id}: archived`);
  if (terminating) await terminating; // grandchildren still get their SIGKILL after the grace
  for (const s of STOP_SIGNALS) process.off(s, onSignal);
  return status;
}

async function failToStart(reg: Registry, id: number, err: NodeJS.ErrnoException, command: string): Promise<number> {
  const result = resultOfSpawnError(err, command);
  process.stderr.write(`launch: ${result.termerror}\n`);
  return archive(reg, id, null, result, false);
}

/** Archives the ending; if the registry cannot take it even after retries, says so and prints the record. */
async function archive(reg: Registry, id: number, feedFile: string | null, r: Result, keepFeedback: boolean): Promise<number> {
  try {
    await endTask(reg, id, feedFile, r, { keepFeedback });
    return r.status;
  } catch (err) {
    const e = describeDbError(err, reg.file, EXIT_LAUNCH_FAILED);
    const record = JSON.stringify({ taskid: id, outcome: r.outcome, exitcode: r.exitcode, termsignal: r.termsignal, termerror: r.termerror, endtime: Date.now() / 1000 });
    process.stderr.write(`launch: task ${id} ended but could not be archived: ${e.message}\nlaunch: the ending was: ${record}\n`);
    return EXIT_LAUNCH_FAILED;
  }
}

/** Status writes are advice for readers, who derive the truth anyway: a locked file must not stop the watch. */
function trySave(f: () => void, log: (m: string) => void): void {
  try {
    f();
  } catch (err) {
    log(`could not record status: ${(err as Error).message}`);
  }
}

function tryRead<T>(f: () => T, log: (m: string) => void): T | undefined {
  try {
    return f();
  } catch (err) {
    log(`could not read the registry: ${(err as Error).message}`);
    return undefined;
  }
}
