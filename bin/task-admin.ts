#!/usr/bin/env node
import * as fs from 'node:fs';
import { runMain } from '../src/cli/run';
import { cliParser } from '../src/cli/parser';
import { ExitError, EXIT } from '../src/errors';
import { describeDbError } from '../src/db/errors';
import { openTaskDb } from '../src/demo/taskdb';
import { allTasks, createTasks, jsonTasks, renderTasks } from '../src/demo/admin';

function main(): number {
  const a = cliParser('task-admin', '$0 <create|check> -f DB\n\nCreates and checks epoll_demo task databases.')
    .command('create', 'add randomly generated tasks (creating the file and table if missing)', (y) =>
      y.option('count', { alias: 'n', type: 'number', default: 10, describe: 'how many tasks' })
        .option('max-sleep', { type: 'number', default: 30, describe: 'sleep times are random from 0 to this' }))
    .command('check', 'show every task and its state', (y) => y.option('json', { type: 'boolean', describe: 'JSON instead of a table' }))
    .option('file', { alias: 'f', type: 'string', demandOption: true, describe: 'the task database' })
    .demandCommand(1, 'give a command: create or check')
    .parseSync();
  const cmd = String(a._[0]);
  const file = a.file;
  if (cmd === 'check' && !fs.existsSync(file)) throw new ExitError(`no task database at ${file}`, EXIT.refused);
  let db;
  try {
    db = openTaskDb(file, cmd === 'create');
    db.prepare('SELECT 1 FROM demo_task LIMIT 1').get();
  } catch (err) {
    throw describeDbError(err, file);
  }
  try {
    if (cmd === 'create') {
      const n = Number(a.count);
      const max = Number(a['max-sleep']);
      if (!Number.isInteger(n) || n < 0) throw new ExitError(`--count needs a whole number, got ${a.count}`, EXIT.usage);
      if (!Number.isInteger(max) || max < 0) throw new ExitError(`--max-sleep needs a whole number of seconds, got ${a['max-sleep']}`, EXIT.usage);
      process.stdout.write(`Created ${createTasks(db, n, max)} tasks\n`);
    } else {
      const rows = allTasks(db);
      process.stdout.write(`${a.json ? JSON.stringify(jsonTasks(rows)) : renderTasks(rows)}\n`);
    }
  } finally {
    db.close();
  }
  return EXIT.ok;
}

runMain('task-admin', main, { registry: EXIT.refused, internal: EXIT.refused });
