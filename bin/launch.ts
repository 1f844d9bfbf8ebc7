import '../src/ca-certs'; // first: the environment as launch was given it
import '../src/db/prewarm'; // then: on PostgreSQL the connection starts while the rest loads
import { runMain } from '../src/cli/run';
import { EXIT } from '../src/errors';
import { parseLaunchArgs, USAGE } from '../src/launch/args';
import { launch } from '../src/launch/launch';
import { VERSION } from '../src/version';

runMain(
  'launch',
  () => {
    const o = parseLaunchArgs(process.argv.slice(2));
    if (o.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (o.version) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    if (o.superviseePool === undefined) return launch(o);
    const log = o.debug ? (m: string) => process.stderr.write(`launch --pool: [${Date.now()}] ${m}\n`) : () => {};
    return (require('../src/pool/supervisor') as typeof import('../src/pool/supervisor')).superviseePool(o.superviseePool, o.db, o.debug, log);
  },
  { registry: EXIT.launchFailed, internal: EXIT.launchFailed },
);
