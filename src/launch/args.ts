import { resolve as resolvePath } from 'node:path';
import { ExitError, EXIT } from '../errors';
import { parseId, parseSeconds } from '../cli/args';
import { DEFAULT_GRACE_SEC } from '../task/model';
import { DEFAULT_BACKOFF, parseBackoff, type RestartPolicy, type RestartRule } from '../task/restart';
import { DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX, parseSize, type LogPlan } from './output';

// Hand-rolled rather than yargs: one launcher runs per watched task, and yargs alone costs
// about 6 MB of memory in each of them.

export interface LaunchOptions {
  db?: string;
  taskid?: number;
  name?: string;
  info1?: string;
  info2?: string;
  info3?: string;
  feedpath?: string;
  timeoutSec: number;
  graceSec: number;
  maxTimeSec?: number;
  keepFeedback: boolean;
  foreground: boolean;
  rule: RestartRule;
  log: LogPlan | null;
  /** Set by a pool's supervisor for each instance it starts; never from the command line. */
  pool?: { name: string; instance: number };
  /** launch --pool NAME: be that pool's supervisor (started by control --scale); no command. */
  superviseePool?: string;
  debug: boolean;
  /** -h/--help or --version: print, run nothing. */
  help?: boolean;
  version?: boolean;
  command: string[];
}

export const USAGE = `usage: launch [options] -- CMD [ARG...]

Runs CMD (no shell) in a cgroup of its own where the system allows it, else as the leader of its
own process group, watches it, and archives every ending in the registry's history.

Identity
  --db FILE            registry (default $TASKWATCH_DB, else $XDG_STATE_HOME/taskwatch/taskwatch.db)
  --taskid ID          run as this id, reserved before with control --reserve
  --name NAME          the task's name (control --killall, --wait --name and --history --name use it)
  --info1 TEXT         free text shown by control --list; so are --info2 TEXT and --info3 TEXT

Watching
  --feedpath DIR       make a feedback file in DIR, passed to CMD as $TASKWATCH_FEEDBACK; every write
                       to it is a heartbeat (quiet for a quarter of --timeout: SILENT; half: STALLED)
  --timeout SEC        with --feedpath: quiet this long and the task is stopped (default 30)
  --max-time SEC       a limit on the whole run, as GNU timeout's
  --grace SEC          between SIGTERM and SIGKILL when stopping (default ${DEFAULT_GRACE_SEC})
  --keep-feedback      leave the feedback file behind when the task ends
  --foreground         keep CMD in launch's process group, so it can read the terminal (only CMD
                       itself is then signalled where there is no cgroup)

Restarts
  --restart POLICY     no (default), on-failure (a non-zero exit, a signal or a stall) or always;
                       a kill by control --kill is always the end
  --max-restarts N     give up after N restarts (default: never)
  --backoff MIN[:MAX]  seconds before a restart, doubling from MIN up to MAX, back to MIN after a
                       run longer than MAX (default ${DEFAULT_BACKOFF.minSec}:${DEFAULT_BACKOFF.maxSec})

Output
  --log FILE           append CMD's stdout and stderr to FILE (launch then stays in the data path)
  --log-stdout FILE    stdout only, and --log-stderr FILE stderr only (either, or both apart)
  --log-max SIZE       rotate a log at this size, as in 512K, 10M, 1G (default 10M)
  --log-keep N         rotated files kept (default ${DEFAULT_LOG_KEEP})

Other
  --debug              say what launch does, and stack traces on errors
  --version            print the version
  -h, --help           this text

Exit status: the command's own; 128+N if it died of signal N; 124 on timeout; 125 if launch
itself failed; 126 if CMD is not executable; 127 if it is not found. (launch --pool NAME is a
pool's supervisor, started by control --scale; it is not for use by hand.)`;

/** Every option launch takes (a test holds its --help to explaining each). */
export const VALUE = ['db', 'taskid', 'name', 'info1', 'info2', 'info3', 'feedpath', 'timeout', 'grace', 'max-time', 'restart', 'max-restarts', 'backoff',
  'log', 'log-stdout', 'log-stderr', 'log-max', 'log-keep', 'pool'] as const;
export const FLAG = ['keep-feedback', 'foreground', 'debug', 'help', 'version'] as const;

const bad = (msg: string) => new ExitError(msg, EXIT.launchFailed);

function restartRule(policy: string | undefined, max: string | undefined, backoff: string | undefined): RestartRule {
  if (policy !== undefined && !['no', 'on-failure', 'always'].includes(policy)) throw bad(`--restart takes no, on-failure or always; got '${policy}'`);
  if (max !== undefined && !/^\d+$/.test(max.trim())) throw bad(`--max-restarts needs a whole number; got '${max}'`);
  const b = backoff === undefined ? DEFAULT_BACKOFF : parseBackoff(backoff);
  if (!b) throw bad(`--backoff needs MIN[:MAX] in seconds, MIN no more than MAX (as in 0.5:60); got '${backoff}'`);
  return { policy: (policy ?? 'no') as RestartPolicy, maxRestarts: max === undefined ? null : Number(max), backoffMinSec: b.minSec, backoffMaxSec: b.maxSec };
}

function logPlan(v: Partial<Record<(typeof VALUE)[number], string>>): LogPlan | null {
  if (v.log !== undefined && (v['log-stdout'] !== undefined || v['log-stderr'] !== undefined)) throw bad('--log takes both streams; split them with --log-stdout and --log-stderr instead');
  const stdout = v.log ?? v['log-stdout'] ?? null;
  const stderr = v.log ?? v['log-stderr'] ?? null;
  if (stdout === null && stderr === null) {
    if (v['log-max'] !== undefined || v['log-keep'] !== undefined) throw bad('--log-max and --log-keep go with --log FILE (or --log-stdout/--log-stderr)');
    return null;
  }
  if (stdout === '' || stderr === '') throw bad('a log needs a file name');
  const maxBytes = v['log-max'] === undefined ? DEFAULT_LOG_MAX : parseSize(v['log-max']);
  if (maxBytes === null) throw bad(`--log-max needs a size, as in 10M, 512K or 1G; got '${v['log-max']}'`);
  const keep = v['log-keep'] === undefined ? DEFAULT_LOG_KEEP : Number(v['log-keep']);
  if (!Number.isInteger(keep) || keep < 0 || keep > 1000) throw bad(`--log-keep needs a whole number of old files to keep; got '${v['log-keep']}'`);
  return { stdout: stdout && resolvePath(stdout), stderr: stderr && resolvePath(stderr), maxBytes, keep };
}

export function parseLaunchArgs(argv: string[]): LaunchOptions {
  const v: Partial<Record<(typeof VALUE)[number], string>> = {};
  const f: Partial<Record<(typeof FLAG)[number], boolean>> = {};
  let command: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === '--') {
      command = argv.slice(i + 1);
      break;
    }
    if (tok === '-h') {
      f.help = true;
      continue;
    }
    if (!tok.startsWith('-') || tok === '-') {
      command = argv.slice(i); // the command may also start without `--`; its own options follow it
      break;
    }
    const eq = tok.indexOf('=');
    const key = tok.slice(2, eq < 0 ? undefined : eq);
    if (!tok.startsWith('--')) throw bad(`unknown option ${tok} (put the command after --)`);
    if ((VALUE as readonly string[]).includes(key)) {
      const val = eq < 0 ? argv[++i] : tok.slice(eq + 1);
      if (val === undefined) throw bad(`--${key} needs a value`);
      v[key as (typeof VALUE)[number]] = val;
    } else if ((FLAG as readonly string[]).includes(key)) {
      if (eq >= 0) throw bad(`--${key} takes no value`);
      f[key as (typeof FLAG)[number]] = true;
    } else {
      throw bad(`unknown option --${key} (put the command after --, as in: launch --timeout 30 -- ./job.sh)`);
    }
  }
  const o: LaunchOptions = {
    db: v.db,
    taskid: v.taskid === undefined ? undefined : parseId(v.taskid, '--taskid', EXIT.launchFailed),
    name: v.name,
    info1: v.info1,
    info2: v.info2,
    info3: v.info3,
    feedpath: v.feedpath,
    timeoutSec: v.timeout === undefined ? 30 : parseSeconds(v.timeout, '--timeout', EXIT.launchFailed),
    graceSec: v.grace === undefined ? DEFAULT_GRACE_SEC : parseSeconds(v.grace, '--grace', EXIT.launchFailed, true),
    maxTimeSec: v['max-time'] === undefined ? undefined : parseSeconds(v['max-time'], '--max-time', EXIT.launchFailed),
    keepFeedback: f['keep-feedback'] === true,
    foreground: f.foreground === true,
    rule: restartRule(v.restart, v['max-restarts'], v.backoff),
    log: logPlan(v),
    superviseePool: v.pool,
    debug: f.debug === true,
    help: f.help === true,
    version: f.version === true,
    command,
  };
  if (o.help || o.version) return o;
  if (v.pool !== undefined) {
    if (command.length > 0) throw bad('--pool runs a pool\'s supervisor, which takes no command: control --scale starts it');
    return o;
  }
  if (command.length === 0) throw bad('no command given: put it after --, as in: launch --max-time 60 -- ./job.sh');
  if (command[0] === '') throw bad('the command is an empty string');
  if (v.db === '') throw bad('--db needs a file name or a postgres:// URL');
  if (v.timeout !== undefined && v.feedpath === undefined) {
    throw bad('--timeout is the heartbeat timeout and needs --feedpath DIR (the task writes its heartbeats there); for a limit on the run time, as GNU timeout has, use --max-time SEC');
  }
  return o;
}
