#!/usr/bin/env node
import { runMain } from '../src/cli/run';
import { parseLaunchArgs, USAGE } from '../src/launch/args';
import { launch } from '../src/launch/launch';
import { EXIT_LAUNCH_FAILED } from '../src/outcome';

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
  EXIT_LAUNCH_FAILED,
);
