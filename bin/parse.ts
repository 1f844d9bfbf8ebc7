#!/usr/bin/env node
import { runMain } from '../src/cli/run';
import { cliParser } from '../src/cli/parser';
import { ExitError, EXIT } from '../src/errors';
import { cappedNote, readFeedbackFile } from '../src/feedback/file';

function main(): number {
  const a = cliParser('parse', '$0 --feedback FILE [--debug]\n\nPrints the [key]value feedback file as one JSON object.')
    .option('feedback', { type: 'string', demandOption: true, describe: 'the feedback file to parse' })
    .option('debug', { alias: 'd', type: 'boolean', describe: 'report lines, ignored lines, keys and peak memory on stderr' })
    .parseSync();
  let r;
  try {
    r = readFeedbackFile(a.feedback, { follow: true }); // the person's own argument may be a link; it must still lead to a regular file
  } catch (err) {
    throw Object.assign(new ExitError(`cannot read ${a.feedback}: ${(err as Error).message}`, EXIT.refused), { cause: err });
  }
  if (!r.found) throw new ExitError(`no such file: ${a.feedback}`, EXIT.refused);
  if (a.debug) {
    const peak = (process.resourceUsage().maxRSS / 1024).toFixed(1);
    const capped = cappedNote(r.capped);
    process.stderr.write(`parse: ${r.lines} lines, ${r.ignored} ignored, ${Object.keys(r.values).length} keys, peak RSS ${peak} MB${capped ? `; ${capped}` : ''}\n`);
  }
  process.stdout.write(`${JSON.stringify(r.values)}\n`);
  return EXIT.ok;
}

runMain('parse', main, { registry: EXIT.refused, internal: EXIT.refused });
