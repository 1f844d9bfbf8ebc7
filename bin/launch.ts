import { runMain } from '../src/cli/run';
import { EXIT } from '../src/errors';
import { parseLaunchArgs, USAGE } from '../src/launch/args';
import { launch } from '../src/launch/launch';

runMain(
  'launch',
  () => {
    const o = parseLaunchArgs(process.argv.slice(2));
    if (o.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    return launch(o);
  },
  { registry: EXIT.launchFailed, internal: EXIT.launchFailed },
);
