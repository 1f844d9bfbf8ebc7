import '../src/ca-certs'; // first: the environment as it was given
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runMain } from '../src/cli/run';
import { cliParser } from '../src/cli/parser';
import { ExitError, EXIT } from '../src/errors';
import { describeDbError } from '../src/db/errors';
import { openTaskDb, TaskDb, type TaskStore } from '../src/demo/taskdb';
import { openPgTaskDb, PgTaskDb } from '../src/demo/pgtaskdb';
import { isPostgresUrl } from '../src/db/open';
import { hostName } from '../src/proc/host';
import { Controller } from '../src/demo/controller';
import { fleetOptions, openLog } from '../src/demo/cli';

async function main(): Promise<number> {
  const a = fleetOptions(cliParser('task-controller', '$0 [-v] -p PORT -d DB [--host 127.0.0.1] [--interval SEC] [--margin SEC] [--feedback FILE]'), 'address to listen on')
    .option('port', { alias: 'p', type: 'number', demandOption: true, describe: 'TCP port to listen on (0: any free port)' })
    .option('db', { alias: 'd', type: 'string', demandOption: true, describe: 'the task database file, or a postgres:// URL (must exist)' })
    .option('interval', { type: 'number', default: 10, describe: 'seconds between reloads and slacker checks' })
    .option('margin', { type: 'number', default: 10, describe: 'seconds past its sleep time before a task is taken back' })
    .option('hello-timeout', { type: 'number', default: 10, describe: 'seconds a connection may stay without saying which worker it is' })
    .parseSync();
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new ExitError(`-p needs a TCP port number, got ${a.port}`, EXIT.usage);
  if (!(a.interval > 0)) throw new ExitError(`--interval needs a number of seconds above 0, got ${a.interval}`, EXIT.usage);
  const pg = isPostgresUrl(a.db);
  if (!pg && !fs.existsSync(a.db)) throw new ExitError(`the task database ${a.db} does not exist; create it with task-admin create -f ${a.db}`, EXIT.refused);
  let db: TaskStore;
  try {
    // On PostgreSQL several controllers may share the table: each is named by its host and port in the rows it takes.
    db = pg ? new PgTaskDb(openPgTaskDb(a.db, false), `${hostName()}:${a.port}`) : new TaskDb(openTaskDb(a.db, false), path.resolve(a.db));
  } catch (err) {
    throw describeDbError(err, a.db);
  }
  if (!(a['hello-timeout'] > 0)) throw new ExitError(`--hello-timeout needs a number of seconds above 0, got ${a['hello-timeout']}`, EXIT.usage);
  const log = openLog('task-controller', a.verbose === true, a.log);
  const c = new Controller(
    {
      host: a.host, port: a.port, intervalSec: a.interval, marginSec: a.margin, helloTimeoutSec: a['hello-timeout'],
      feedback: a.feedback ?? process.env.TASKWATCH_FEEDBACK, log,
    },
    db,
  );
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      log(`received ${sig}; stopping (workers keep their tasks and retry)`);
      void c.stop();
    });
  }
  try {
    const code = await c.run();
    if (code === 1) process.stderr.write(`task-controller: the task database ${a.db} was removed or replaced; told the workers to exit\n`);
    return code;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new ExitError(`port ${a.port} on ${a.host} is already in use`, EXIT.refused);
    if (e.code === 'EACCES') throw new ExitError(`not allowed to listen on ${a.host}:${a.port}`, EXIT.refused);
    throw err;
  }
}

runMain('task-controller', main, { registry: EXIT.refused, internal: EXIT.refused });
