import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync, type Stats } from 'node:fs';
import { basename, resolve as resolvePath } from 'node:path';
import { ExitError, EXIT } from '../errors';
import { describeDbError } from '../db/errors';
import { openFor } from '../db/open';
import type { LaunchFields, Registry } from '../db/registry';
import { feedbackFileName } from '../feedback/file';
import { procStartTime } from '../proc/identity';
import { signalGroup, terminateGroup, type GroupTarget, type TerminateResult } from '../proc/terminate';
import { endingFields, endingOf, exitStatus, failedToStart, type Ending, type Reason } from '../task/outcome';
import { endTask } from '../archive';
import { HeartbeatWatch } from './heartbeat';
import type { LaunchOptions } from './args';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export async function launch(o: LaunchOptions): Promise<number> {
  // Debug lines carry epoch ms, so a benchmark can time the archive against the child's exit.
  const log = o.debug ? (m: string) => process.stderr.write(`launch: [${Date.now()}] ${m}\n`) : () => {};
  const feedDir = o.feedpath === undefined ? null : checkFeedDir(o.feedpath);
  const reg = openFor(o.db);
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
    throw new ExitError(`--feedpath ${dir} does not exist; create the directory first`, EXIT.launchFailed);
  }
  if (!st.isDirectory()) throw new ExitError(`--feedpath ${dir} is not a directory`, EXIT.launchFailed);
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
    if (claim === 'taken') throw new ExitError(`task ${id} is not reserved: another launcher has already taken it`, EXIT.launchFailed);
    if (ended) throw new ExitError(`task ${id} has already run and ended (outcome ${ended.outcome ?? 'unknown'}); reserve a new id`, EXIT.launchFailed);
    throw new ExitError(`task ${id} is not reserved (never reserved, or its reservation lapsed); run control --reserve first`, EXIT.launchFailed);
  } catch (err) {
    if (err instanceof ExitError) throw err;
    throw describeDbError(err, reg.file);
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

  let reason: Reason | null = null;
  let terminating: Promise<TerminateResult> | null = null;
  const stop = (r: Reason, graceSec: number) => {
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
    const t = tryRead(() => reg.task(id), log); // control --kill leaves its note and grace here before signalling
    const req = t && t.state !== 'RESERVED' ? t.killRequest : null;
    if (req) stop({ kind: 'killed', note: req.note }, req.graceSec ?? o.graceSec);
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
  const ending = endingOf(signal ? { code: null, signal } : { code: code ?? 0, signal: null }, reason);
  log(`task ${id}: ${ending.outcome}`);
  const status = await archive(reg, id, feedFile, ending, o.keepFeedback);
  log(`task ${id}: archived`);
  if (terminating) await terminating; // grandchildren still get their SIGKILL after the grace
  for (const s of STOP_SIGNALS) process.off(s, onSignal);
  return status;
}

async function failToStart(reg: Registry, id: number, err: NodeJS.ErrnoException, command: string): Promise<number> {
  const ending = failedToStart(err.code ?? null, command, err.message);
  process.stderr.write(`launch: ${endingFields(ending).termerror}\n`);
  return archive(reg, id, null, ending, false);
}

/** Archives the ending; if the registry cannot take it even after retries, says so and prints the record. */
async function archive(reg: Registry, id: number, feedFile: string | null, ending: Ending, keepFeedback: boolean): Promise<number> {
  try {
    await endTask(reg, id, feedFile, ending, { keepFeedback });
    return exitStatus(ending);
  } catch (err) {
    const e = describeDbError(err, reg.file);
    const record = JSON.stringify({ taskid: id, ...endingFields(ending), endtime: Date.now() / 1000 });
    process.stderr.write(`launch: task ${id} ended but could not be archived: ${e.message}\nlaunch: the ending was: ${record}\n`);
    return EXIT.launchFailed;
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
