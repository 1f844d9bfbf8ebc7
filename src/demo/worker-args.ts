import { parseSeconds } from '../cli/args';
import { ExitError, EXIT } from '../errors';
import { MAX_NAME_BYTES } from './frame';

// Hand-rolled rather than yargs, as launch's: a pool starts many workers at once, and yargs, with
// the assert module it loads, was half of a worker's own start-up CPU (about 10 of 22 ms beyond
// `node -e 0`), paid again by every worker of a dispatch that is already running.

export interface WorkerArgs {
  port: number;
  /** -w, or POOL.INSTANCE inside a taskwatch pool. */
  workerId: string;
  host: string;
  feedback?: string;
  log?: string;
  verbose: boolean;
  slacker: boolean;
  slackSec: number;
  help: boolean;
  version: boolean;
}

export const WORKER_USAGE = `task-worker [-v] -p PORT [-w WORKER_ID] [-s] [--slack SEC] [--host 127.0.0.1] [--feedback FILE] [--log FILE]

Options:
  -p, --port PORT       the controller's TCP port (required)
  -w, --worker ID       this worker's id, at most ${MAX_NAME_BYTES} bytes (default in a pool: POOL.INSTANCE)
  -s, --slacker         sleep --slack seconds longer than asked
      --slack SEC       how much longer a slacker sleeps (default 20)
      --host ADDRESS    the controller's address (default 127.0.0.1)
  -v, --verbose         log to stderr instead of a log file
      --log FILE        log file when not -v (default: one in a new private directory)
      --feedback FILE   feedback file (default $TASKWATCH_FEEDBACK)
      --debug           stack traces on errors
      --version         print the version
  -h, --help            this text`;

/** Long and short names of the options that take a value, and of the flags. */
const VALUE: Record<string, string> = { p: 'port', port: 'port', w: 'worker', worker: 'worker', slack: 'slack', host: 'host', feedback: 'feedback', log: 'log' };
const FLAG: Record<string, string> = { v: 'verbose', verbose: 'verbose', s: 'slacker', slacker: 'slacker', debug: 'debug', version: 'version', h: 'help', help: 'help' };

const usage = (msg: string) => new ExitError(`${msg} (task-worker --help lists the options)`, EXIT.usage);

/** `env` gives the pool's name and instance, for the default worker id. */
export function parseWorkerArgs(argv: string[], env: NodeJS.ProcessEnv): WorkerArgs {
  const v: Record<string, string> = {};
  const f: Record<string, boolean> = {};
  const take = (name: string, key: string, inline: string | undefined, i: number): number => {
    const val = inline ?? argv[i + 1];
    if (val === undefined) throw usage(`${name} needs a value`);
    v[key] = val;
    return inline === undefined ? i + 1 : i;
  };
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok.startsWith('--') && tok.length > 2) {
      const eq = tok.indexOf('=');
      const name = tok.slice(2, eq < 0 ? undefined : eq);
      if (VALUE[name] !== undefined) i = take(`--${name}`, VALUE[name], eq < 0 ? undefined : tok.slice(eq + 1), i);
      else if (FLAG[name] !== undefined && eq < 0) f[FLAG[name]] = true;
      else throw usage(FLAG[name] !== undefined ? `--${name} takes no value` : `unknown option --${name}`);
    } else if (tok.startsWith('-') && tok.length > 1 && tok !== '--') {
      // -vs, -p 4000, -p4000
      for (let j = 1; j < tok.length; j++) {
        const c = tok[j];
        if (FLAG[c] !== undefined) f[FLAG[c]] = true;
        else if (VALUE[c] !== undefined) {
          i = take(`-${c}`, VALUE[c], j + 1 < tok.length ? tok.slice(j + 1) : undefined, i);
          break;
        } else throw usage(`unknown option -${c}`);
      }
    } else {
      throw usage(`task-worker takes no arguments besides its options; got '${tok}'`);
    }
  }
  const out: WorkerArgs = {
    port: 0,
    workerId: '',
    host: v.host ?? '127.0.0.1',
    feedback: v.feedback,
    log: v.log,
    verbose: f.verbose === true,
    slacker: f.slacker === true,
    slackSec: v.slack === undefined ? 20 : parseSeconds(v.slack, '--slack', EXIT.usage, true),
    help: f.help === true,
    version: f.version === true,
  };
  if (out.help || out.version) return out;
  if (v.port === undefined) throw usage("-p PORT is needed: the controller's TCP port");
  out.port = /^\d+$/.test(v.port.trim()) ? Number(v.port) : NaN;
  if (!Number.isInteger(out.port) || out.port <= 0 || out.port > 65535) throw new ExitError(`-p needs a TCP port number, got ${v.port}`, EXIT.usage);
  const { TASKWATCH_POOL: pool, TASKWATCH_INSTANCE: instance } = env;
  const workerId = v.worker ?? (pool && instance ? `${pool}.${instance}` : undefined);
  if (workerId === undefined) throw new ExitError('-w WORKER_ID is needed outside a taskwatch pool', EXIT.usage);
  const idBytes = Buffer.byteLength(workerId);
  if (idBytes === 0 || idBytes > MAX_NAME_BYTES || workerId.includes('\0')) throw new ExitError(`-w needs a worker id of 1 to ${MAX_NAME_BYTES} bytes`, EXIT.usage);
  out.workerId = workerId;
  if (v.host === '') throw usage("--host needs the controller's address");
  return out;
}
