import '../src/ca-certs'; // first: the environment as it was given
import '../src/db/prewarm'; // then: on PostgreSQL the connection starts while the rest loads
import * as path from 'node:path';
import { runMain } from '../src/cli/run';
import { cliParser } from '../src/cli/parser';
import { ExitError, EXIT } from '../src/errors';
import { describeDbError, isDbError } from '../src/db/errors';
import { openFor } from '../src/db/open';
import type { Command, ControlArgs } from '../src/control/command';

interface Entry {
  /** Only commands that bring a registry into use may create it; the others say there is none. */
  creates: boolean;
  /** The command's module is loaded only when it runs (so --reserve does not pay for tables). */
  load: () => Command;
}

/** Exactly one is given per call. */
const COMMANDS = {
  reserve: { creates: true, load: () => (require('../src/control/reserve') as typeof import('../src/control/reserve')).command },
  list: { creates: false, load: () => (require('../src/control/list') as typeof import('../src/control/list')).command },
  history: { creates: false, load: () => (require('../src/control/history') as typeof import('../src/control/history')).command },
  feedback: { creates: false, load: () => (require('../src/control/feedback') as typeof import('../src/control/feedback')).command },
  kill: { creates: false, load: () => (require('../src/control/kill') as typeof import('../src/control/kill')).command },
  killall: { creates: false, load: () => (require('../src/control/kill') as typeof import('../src/control/kill')).commandAll },
  clear: { creates: false, load: () => (require('../src/control/clear') as typeof import('../src/control/clear')).command },
  initialize: { creates: true, load: () => (require('../src/control/initialize') as typeof import('../src/control/initialize')).command },
  update: { creates: false, load: () => (require('../src/control/update') as typeof import('../src/control/update')).command },
  wait: { creates: false, load: () => (require('../src/control/wait') as typeof import('../src/control/wait')).command },
  logs: { creates: false, load: () => (require('../src/control/logs') as typeof import('../src/control/logs')).command },
  scale: { creates: true, load: () => (require('../src/control/scale') as typeof import('../src/control/scale')).command },
  pools: { creates: false, load: () => (require('../src/control/pools') as typeof import('../src/control/pools')).command },
  forget: { creates: false, load: () => (require('../src/control/forget') as typeof import('../src/control/forget')).command },
  release: { creates: false, load: () => (require('../src/control/release') as typeof import('../src/control/release')).command },
  serve: { creates: true, load: () => (require('../src/control/serve') as typeof import('../src/control/serve')).command },
  'delete-pool': { creates: false, load: () => (require('../src/control/scale') as typeof import('../src/control/scale')).commandDelete },
} satisfies Record<string, Entry>;

type CommandName = keyof typeof COMMANDS;
const NAMES = Object.keys(COMMANDS) as CommandName[];

function parseArgs() {
  return cliParser('control', '$0 [--db FILE] --reserve|--release ID|--forget ID|--list|--history|--feedback ID|--logs ID|--kill ID|--killall NAME|--wait ID...|--scale NAME N|--pools|--delete-pool NAME|--serve|--clear|--initialize|--update')
    .option('db', { type: 'string', describe: 'registry file or postgres:// URL (default $TASKWATCH_DB, else $XDG_STATE_HOME/taskwatch/taskwatch.db)' })
    .option('reserve', { type: 'boolean', describe: 'reserve a task id and print it' })
    .option('name', { type: 'string', describe: 'with --reserve: the task name; with --history: only this name' })
    .option('info1', { type: 'string' })
    .option('info2', { type: 'string' })
    .option('info3', { type: 'string' })
    .option('unique', { type: 'boolean', describe: 'with --reserve: refuse if a live task has this name' })
    .option('ttl', { type: 'string', describe: 'with --reserve: seconds before an unlaunched reservation lapses (default 300)' })
    .option('list', { type: 'boolean', describe: 'show live tasks' })
    .option('history', { type: 'boolean', describe: 'show ended tasks, newest first' })
    .option('limit', { type: 'string', describe: 'with --history: at most this many rows (default 50)' })
    .option('feedback', { type: 'string', describe: "print a task's feedback as a JSON object" })
    .option('follow', { type: 'boolean', describe: 'with --feedback or --logs: go on printing as it changes, until the task ends' })
    .option('logs', { type: 'string', describe: "print the end of a task's --log files" })
    .option('lines', { type: 'string', describe: 'with --logs: how many lines (default 20)' })
    .option('kill', { type: 'string', describe: 'terminate a running task' })
    .option('killall', { type: 'string', describe: 'terminate every running task with this name' })
    .option('grace', { type: 'string', describe: 'with --kill/--killall/--scale: seconds between SIGTERM and SIGKILL' })
    .option('clear', { type: 'boolean', describe: 'delete all history (asks first at a terminal)' })
    .option('yes', { type: 'boolean', describe: 'with --clear: do not ask' })
    .option('release', { type: 'string', describe: 'give back a reserved task id that will not be launched' })
    .option('forget', { type: 'string', describe: 'archive a LOST task (its launcher gone) as lost, leaving its processes alone: for a task of another host' })
    .option('initialize', { type: 'boolean', describe: 'recreate the registry (ids are still never reused)' })
    .option('force', { type: 'boolean', describe: 'with --initialize: even while tasks are live' })
    .option('update', { type: 'boolean', describe: 'sweep lapsed reservations, refresh durations, settle lost tasks' })
    .option('wait', { type: 'array', string: true, describe: 'wait until these tasks (or, with --name, every live task of that name) have ended for good; exit with their status' })
    .option('timeout', { type: 'string', describe: "with --wait: give up after this many seconds (exit 124); with --scale: the instances' heartbeat timeout" })
    .option('scale', { type: 'array', string: true, describe: 'NAME N [-- CMD ARGS]: make a pool of N instances of CMD, or change N (0 stops them)' })
    .option('pools', { type: 'boolean', describe: 'show pools: desired and running instances, supervisor, dead/stalled/restart counts' })
    .option('delete-pool', { type: 'string', describe: 'stop a pool and forget it' })
    .option('feedpath', { type: 'string', describe: "with --scale: the instances' feedback directory" })
    .option('max-time', { type: 'string', describe: 'with --scale: a limit on each run of an instance' })
    .option('restart', { type: 'string', describe: 'with --scale: no, on-failure or always (default always)' })
    .option('max-restarts', { type: 'string', describe: 'with --scale: restarts of one instance before it gives up' })
    .option('backoff', { type: 'string', describe: 'with --scale: MIN[:MAX] seconds between restarts' })
    .option('log-max', { type: 'string', describe: "with --scale: rotate each instance's log at this size (default 10M)" })
    .option('log-keep', { type: 'string', describe: 'with --scale: old log files kept (default 2)' })
    .option('serve', { type: 'boolean', describe: 'serve the HTTP API and the live page until stopped (prints its URL, with the token)' })
    .option('host', { type: 'string', describe: 'with --list or --history: only tasks of this host; with --serve: the address to bind (default 127.0.0.1)' })
    .option('port', { type: 'string', describe: 'with --serve: the port (default 8010; 0 for any free one)' })
    .option('json', { type: 'boolean', describe: 'machine-readable output' })
    .option('wide', { type: 'boolean', describe: 'tables with every column, however wide' })
    .parserConfiguration({ 'populate--': true, 'parse-positional-numbers': false })
    .parseSync();
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function main(): Promise<number> {
  const a = parseArgs();
  const given = NAMES.filter((c) => a[c] !== undefined && a[c] !== false);
  if (a.timeout !== undefined && a.wait === undefined && a.scale === undefined) throw new ExitError('--timeout goes with --wait or --scale', EXIT.usage);
  if (given.length === 0) throw new ExitError(`nothing to do: give one of ${NAMES.map((c) => `--${c}`).join(', ')} (see --help)`, EXIT.usage);
  if (given.length > 1) throw new ExitError(`give one command at a time, not ${given.map((c) => `--${c}`).join(' and ')}`, EXIT.usage);
  if (a.follow && a.feedback === undefined && a.logs === undefined) throw new ExitError('--follow goes with --feedback ID or --logs ID', EXIT.usage);
  if (a.lines !== undefined && a.logs === undefined) throw new ExitError('--lines goes with --logs ID', EXIT.usage);
  if (a.port !== undefined && a.serve === undefined) throw new ExitError('--port goes with --serve', EXIT.usage);
  if (a.host !== undefined && a.serve === undefined && a.list === undefined && a.history === undefined) throw new ExitError('--host goes with --list or --history (a host to show), or --serve (the address to bind)', EXIT.usage);
  if (a.db === '') throw new ExitError('--db needs a file name or a postgres:// URL', EXIT.usage);
  const command: Entry = COMMANDS[given[0]];
  const extra = (a as { '--'?: Array<string | number> })['--'];
  if (extra && extra.length > 0 && a.scale === undefined) throw new ExitError('a command after -- goes with --scale NAME N', EXIT.usage);
  const args = { ...a, json: a.json === true, command: extra?.map(String), launchBin: path.join(__dirname, 'launch.js'), webDir: path.join(__dirname, '..', 'web') } as unknown as ControlArgs;
  const run = command.load()(args); // usage errors before any registry is opened
  const reg = openFor(a.db, { create: command.creates });
  try {
    return await run(reg, out);
  } catch (err) {
    if (err instanceof ExitError || !isDbError(err)) throw err;
    throw describeDbError(err, reg.file);
  } finally {
    reg.close();
  }
}

runMain('control', main, { registry: EXIT.database, internal: EXIT.database });
