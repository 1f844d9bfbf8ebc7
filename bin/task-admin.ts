import '../src/ca-certs'; // first: the environment as it was given
import * as fs from 'node:fs';
import { runMain } from '../src/cli/run';
import { cliParser } from '../src/cli/parser';
import { ExitError, EXIT } from '../src/errors';
import { describeDbError } from '../src/db/errors';
import { openTaskDb, type TaskRecord } from '../src/demo/taskdb';
import { openPgTaskDb, pgAddTask, pgAllTasks, pgCreateTasks } from '../src/demo/pgtaskdb';
import { isPostgresUrl } from '../src/db/open';
import { addTask, allTasks, badTaskName, createTasks, jsonTasks, renderTasks } from '../src/demo/admin';

const wholeNumber = (v: unknown, flag: string, what: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ExitError(`${flag} needs ${what}, got ${String(v)}`, EXIT.usage);
  return n;
};

/** What task-admin does to a demo_task table, in an SQLite file or in PostgreSQL. */
interface AdminDb {
  where: string;
  create(n: number, maxSleep: number): number;
  add(name: string, sleep: number): boolean;
  all(): TaskRecord[];
  close(): void;
}

function openAdminDb(file: string, create: boolean): AdminDb {
  if (isPostgresUrl(file)) {
    const pg = openPgTaskDb(file, create);
    return { where: pg.where, create: (n, m) => pgCreateTasks(pg, n, m), add: (x, s) => pgAddTask(pg, x, s), all: () => pgAllTasks(pg), close: () => pg.close() };
  }
  if (!create && !fs.existsSync(file)) throw new ExitError(`no task database at ${file}`, EXIT.refused);
  try {
    const db = openTaskDb(file, create);
    db.prepare('SELECT 1 FROM demo_task LIMIT 1').get();
    return { where: file, create: (n, m) => createTasks(db, n, m), add: (x, s) => addTask(db, x, s), all: () => allTasks(db), close: () => db.close() };
  } catch (err) {
    throw describeDbError(err, file);
  }
}

function main(): number {
  const a = cliParser('task-admin', '$0 <create|add|check> -f DB\n\nCreates and checks epoll_demo task databases.')
    .command('create', 'add randomly generated tasks (creating the file and table if missing)', (y) =>
      y.option('count', { alias: 'n', type: 'number', default: 10, describe: 'how many tasks' })
        .option('max-sleep', { type: 'number', default: 30, describe: 'sleep times are random from 0 to this' }))
    .command('add', 'add one task by name (at most 27 bytes, as the original worker takes)', (y) =>
      y.option('name', { type: 'string', demandOption: true, describe: 'the task name' })
        .option('sleep', { type: 'number', default: 0, describe: 'its sleep time in seconds' }))
    .command('check', 'show every task and its state', (y) => y.option('json', { type: 'boolean', describe: 'JSON instead of a table' }))
    .option('file', { alias: 'f', type: 'string', demandOption: true, describe: 'the task database file, or a postgres:// URL' })
    .demandCommand(1, 'give a command: create, add or check')
    .parseSync();
  const cmd = String(a._[0]);
  const file = a.file;
  // Every argument is checked before the file is touched.
  const n = cmd === 'create' ? wholeNumber(a.count, '--count', 'a whole number') : 0;
  const max = cmd === 'create' ? wholeNumber(a['max-sleep'], '--max-sleep', 'a whole number of seconds') : 0;
  const name = cmd === 'add' ? String(a.name) : '';
  const sleep = cmd === 'add' ? wholeNumber(a.sleep, '--sleep', 'a whole number of seconds') : 0;
  const bad = cmd === 'add' ? badTaskName(name) : null;
  if (bad) throw new ExitError(`${bad}; not added`, EXIT.usage);
  const db = openAdminDb(file, cmd !== 'check');
  try {
    if (cmd === 'create') {
      process.stdout.write(`Created ${db.create(n, max)} tasks\n`);
    } else if (cmd === 'add') {
      if (!db.add(name, sleep)) throw new ExitError(`a task named '${name}' is already in ${db.where}; not added`, EXIT.refused);
      process.stdout.write(`Added ${name}\n`);
    } else {
      const rows = db.all();
      process.stdout.write(`${a.json ? JSON.stringify(jsonTasks(rows)) : renderTasks(rows)}\n`);
    }
  } finally {
    db.close();
  }
  return EXIT.ok;
}

runMain('task-admin', main, { registry: EXIT.refused, internal: EXIT.refused });
