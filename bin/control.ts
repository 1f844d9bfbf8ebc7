#!/usr/bin/env node
import { runMain } from '../src/cli/run';
import { cliParser } from '../src/cli/parser';
import { parseId, parseSeconds } from '../src/cli/args';
import { ExitError, EXIT, describeDbError } from '../src/errors';
import { openFor } from '../src/db/open';
import type { Registry } from '../src/db/registry';

const COMMANDS = ['reserve', 'list', 'history', 'feedback', 'clear', 'initialize', 'update', 'kill', 'killall'] as const;

function parseArgs() {
  return cliParser('control', '$0 [--db FILE] --reserve|--list|--history|--feedback ID|--kill ID|--killall NAME|--clear|--initialize|--update')
    .option('db', { type: 'string', describe: 'registry file (default $TASKWATCH_DB, else $XDG_STATE_HOME/taskwatch/taskwatch.db)' })
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
    .option('follow', { type: 'boolean', describe: 'with --feedback: print it again on every change, until the task ends' })
    .option('kill', { type: 'string', describe: 'terminate a running task' })
    .option('killall', { type: 'string', describe: 'terminate every running task with this name' })
    .option('grace', { type: 'string', describe: 'with --kill/--killall: seconds between SIGTERM and SIGKILL' })
    .option('clear', { type: 'boolean', describe: 'delete all history' })
    .option('initialize', { type: 'boolean', describe: 'recreate the registry (ids are still never reused)' })
    .option('force', { type: 'boolean', describe: 'with --initialize: even while tasks are live' })
    .option('update', { type: 'boolean', describe: 'sweep lapsed reservations, refresh durations, settle lost tasks' })
    .option('json', { type: 'boolean', describe: 'machine-readable output' })
    .parseSync();
}

type Args = ReturnType<typeof parseArgs>;

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

// Each command's module is required only when that command runs, so --reserve does not pay for tables.
async function run(a: Args, reg: Registry): Promise<number> {
  const json = a.json === true;
  if (a.reserve) {
    const { reserve } = require('../src/control/reserve') as typeof import('../src/control/reserve');
    const id = reserve(reg, {
      name: a.name, info1: a.info1, info2: a.info2, info3: a.info3, unique: a.unique === true,
      ttlSec: a.ttl === undefined ? undefined : parseSeconds(a.ttl, '--ttl', EXIT.usage),
    });
    out(json ? JSON.stringify({ taskid: id }) : String(id));
    return EXIT.ok;
  }
  if (a.list) {
    const { listTasks } = require('../src/control/list') as typeof import('../src/control/list');
    const entries = await listTasks(reg);
    if (json) out(JSON.stringify(entries));
    else out((require('../src/control/render') as typeof import('../src/control/render')).renderList(entries));
    return EXIT.ok;
  }
  if (a.history) {
    const { listHistory } = require('../src/control/history') as typeof import('../src/control/history');
    const limit = a.limit === undefined ? 50 : parseId(a.limit, '--limit', EXIT.usage);
    const entries = listHistory(reg, { limit, name: a.name });
    if (json) out(JSON.stringify(entries));
    else out((require('../src/control/render') as typeof import('../src/control/render')).renderHistory(entries));
    return EXIT.ok;
  }
  if (a.feedback !== undefined) {
    const id = parseId(a.feedback, '--feedback', EXIT.usage);
    if (a.follow) {
      const { followFeedback } = require('../src/control/follow') as typeof import('../src/control/follow');
      await followFeedback(reg, id, out);
      return EXIT.ok;
    }
    const { feedbackOf } = require('../src/control/feedback') as typeof import('../src/control/feedback');
    out(JSON.stringify(feedbackOf(reg, id)));
    return EXIT.ok;
  }
  if (a.kill !== undefined || a.killall !== undefined) {
    const { killTask, killAll } = require('../src/control/kill') as typeof import('../src/control/kill');
    const grace = a.grace === undefined ? undefined : parseSeconds(a.grace, '--grace', EXIT.usage, true);
    const reports = a.kill !== undefined ? [await killTask(reg, parseId(a.kill, '--kill', EXIT.usage), grace)] : await killAll(reg, String(a.killall), grace);
    if (json) out(JSON.stringify(reports));
    else for (const r of reports) out(r.message);
    return reports.every((r) => r.state === 'archived') ? EXIT.ok : EXIT.refused;
  }
  if (a.clear) {
    const n = reg.clearHistory();
    out(json ? JSON.stringify({ cleared: n }) : `Cleared ${n} history row${n === 1 ? '' : 's'}.`);
    return EXIT.ok;
  }
  if (a.initialize) {
    const live = reg.liveCount();
    if (live > 0 && !a.force) {
      throw new ExitError(`${reg.file} has ${live} live task${live === 1 ? '' : 's'}; refusing to initialize (add --force to drop them)`, EXIT.refused);
    }
    reg.recreate();
    out(`Initialized ${reg.file}${live ? ` (dropped ${live} live task${live === 1 ? '' : 's'})` : ''}; task ids continue where they were.`);
    return EXIT.ok;
  }
  if (a.update) {
    const { update } = require('../src/control/update') as typeof import('../src/control/update');
    const lines = await update(reg);
    out(json ? JSON.stringify(lines) : lines.length ? lines.join('\n') : 'Nothing to update.');
    return EXIT.ok;
  }
  return EXIT.usage; // unreachable: main() checked that one command was given
}

async function main(): Promise<number> {
  const a = parseArgs();
  const given = COMMANDS.filter((c) => a[c] !== undefined && a[c] !== false);
  if (given.length === 0) throw new ExitError(`nothing to do: give one of ${COMMANDS.map((c) => `--${c}`).join(', ')} (see --help)`, EXIT.usage);
  if (given.length > 1) throw new ExitError(`give one command at a time, not ${given.map((c) => `--${c}`).join(' and ')}`, EXIT.usage);
  if (a.follow && a.feedback === undefined) throw new ExitError('--follow goes with --feedback ID', EXIT.usage);
  const reg = openFor(a.db, EXIT.database);
  try {
    return await run(a, reg);
  } catch (err) {
    if (err instanceof ExitError || !(err as { code?: string }).code?.startsWith('SQLITE')) throw err;
    throw describeDbError(err, reg.file, EXIT.database);
  } finally {
    reg.close();
  }
}

runMain('control', main, EXIT.database);
