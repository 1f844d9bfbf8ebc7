import { ExitError } from '../errors';

/**
 * The single place a taskwatch command exits. `main` returns the exit status or throws;
 * an ExitError prints its sentence, anything else is a bug and says so (stack only with --debug).
 */
export function runMain(prog: string, main: () => Promise<number> | number, internalExit = 1): void {
  const own = process.argv.indexOf('--');
  const debug = process.argv.slice(0, own < 0 ? undefined : own).includes('--debug');
  Promise.resolve()
    .then(main)
    .then(
      (code) => exitAfterFlush(code),
      (err: unknown) => {
        if (err instanceof ExitError) {
          process.stderr.write(`${prog}: ${err.message}\n`);
          if (debug && err.cause instanceof Error) process.stderr.write(`${err.cause.stack}\n`);
          exitAfterFlush(err.exitCode);
          return;
        }
        const e = err as Error;
        process.stderr.write(`${prog}: internal error: ${e?.message ?? String(err)}${debug ? '' : ' (run with --debug for details)'}\n`);
        if (debug) process.stderr.write(`${e?.stack}\n`);
        exitAfterFlush(internalExit);
      },
    );
}

/** stdout to a pipe is asynchronous in Node: exiting at once would cut a long table short. */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
