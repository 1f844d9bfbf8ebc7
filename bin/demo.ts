#!/usr/bin/env node
import * as path from 'node:path';
import { runMain } from '../src/cli/run';
import { ExitError, EXIT } from '../src/errors';
import { runShowcase } from '../src/showcase/showcase';

runMain('demo', () => {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !['--keep', '--debug', '--quick'].includes(a));
  if (unknown.length) throw new ExitError(`unknown option ${unknown[0]}; usage: npm run demo [-- --keep] [-- --quick]`, EXIT.usage);
  const quick = args.includes('--quick');
  return runShowcase({
    keep: args.includes('--keep'),
    tasks: quick ? 12 : 16,
    maxSleep: quick ? 4 : 5,
    out: (line) => process.stdout.write(`${line}\n`),
    binPath: (name) => path.join(__dirname, `${name}.js`), // the other bins are this one's siblings
  });
}, { registry: EXIT.refused, internal: EXIT.refused });
