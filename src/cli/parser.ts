import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ExitError, EXIT } from '../errors';
import { VERSION } from '../version';

/** The yargs setup every yargs-based command shares: strict flags, --debug, and usage errors as ExitError(2). */
export function cliParser(name: string, usage: string): Argv<{ debug: boolean | undefined }> {
  return yargs(hideBin(process.argv))
    .scriptName(name)
    .usage(usage)
    .option('debug', { type: 'boolean', describe: 'stack traces on errors' })
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .fail((msg, err) => {
      throw err instanceof ExitError ? err : new ExitError(msg || err?.message || 'bad arguments', EXIT.usage);
    });
}
