import '../src/ca-certs'; // first: the environment as it was given
import { runMain } from '../src/cli/run';
import { cliParser } from '../src/cli/parser';
import { ExitError, EXIT } from '../src/errors';
import { MAX_NAME_BYTES } from '../src/demo/frame';
import { Worker } from '../src/demo/worker';
import { fleetOptions, openLog } from '../src/demo/cli';

async function main(): Promise<number> {
  const a = fleetOptions(cliParser('task-worker', '$0 [-v] -p PORT [-w WORKER_ID] [-s] [--slack SEC] [--host 127.0.0.1] [--feedback FILE]'), "the controller's address")
    .option('port', { alias: 'p', type: 'number', demandOption: true, describe: "the controller's TCP port" })
    .option('worker', { alias: 'w', type: 'string', describe: "this worker's id, at most 31 bytes (default in a pool: POOL.INSTANCE)" })
    .option('slacker', { alias: 's', type: 'boolean', describe: 'sleep --slack seconds longer than asked' })
    .option('slack', { type: 'number', default: 20, describe: 'how much longer a slacker sleeps' })
    .parseSync();
  if (!Number.isInteger(a.port) || a.port <= 0 || a.port > 65535) throw new ExitError(`-p needs a TCP port number, got ${a.port}`, EXIT.usage);
  const { TASKWATCH_POOL: pool, TASKWATCH_INSTANCE: instance } = process.env;
  const workerId = a.worker ?? (pool && instance ? `${pool}.${instance}` : undefined);
  if (workerId === undefined) throw new ExitError('-w WORKER_ID is needed outside a taskwatch pool', EXIT.usage);
  const idBytes = Buffer.byteLength(workerId);
  if (idBytes === 0 || idBytes > MAX_NAME_BYTES || workerId.includes('\0')) throw new ExitError(`-w needs a worker id of 1 to ${MAX_NAME_BYTES} bytes`, EXIT.usage);
  const log = openLog(`task-worker ${workerId}`, a.verbose === true, a.log);
  const w = new Worker({ host: a.host, port: a.port, workerId, slacker: a.slacker === true, slackSec: a.slack, feedback: a.feedback ?? process.env.TASKWATCH_FEEDBACK, log });
  const code = await w.run();
  if (w.why) throw new ExitError(w.why, EXIT.refused);
  return code;
}

runMain('task-worker', main, { registry: EXIT.refused, internal: EXIT.refused });
