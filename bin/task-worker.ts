import '../src/ca-certs'; // first: the environment as it was given
import { runMain } from '../src/cli/run';
import { ExitError, EXIT } from '../src/errors';
import { VERSION } from '../src/version';
import { Worker } from '../src/demo/worker';
import { parseWorkerArgs, WORKER_USAGE } from '../src/demo/worker-args';
import { openLog } from '../src/demo/cli';

async function main(): Promise<number> {
  const a = parseWorkerArgs(process.argv.slice(2), process.env);
  if (a.help || a.version) {
    process.stdout.write(`${a.help ? WORKER_USAGE : VERSION}\n`);
    return 0;
  }
  const log = openLog(`task-worker ${a.workerId}`, a.verbose, a.log);
  const w = new Worker({ host: a.host, port: a.port, workerId: a.workerId, slacker: a.slacker, slackSec: a.slackSec, feedback: a.feedback ?? process.env.TASKWATCH_FEEDBACK, log });
  const code = await w.run();
  if (w.why) throw new ExitError(w.why, EXIT.refused);
  return code;
}

runMain('task-worker', main, { registry: EXIT.refused, internal: EXIT.refused });
