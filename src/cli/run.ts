import { ExitError } from '../errors';
import { RegistryError } from '../db/errors';

/** What a command's failures mean as exit codes: each bin chooses its own. */
export interface ExitCodes {
  /** The registry cannot be used. */
  registry: number;
  /** A bug: anything that is neither an ExitError nor a RegistryError. */
  internal: number;
}

/**
 * The single place a taskwatch command exits. `main` returns the exit status or throws;
 * an ExitError or RegistryError prints its sentence, anything else is a bug and says so (stack only with --debug).
 */
export function runMain(prog: string, main: () => Promise<number> | number, codes: ExitCodes): void {
  // A reader that went away (`launch ... 2>&1 | head`) makes writes fail with EPIPE: diagnostics are
  // never worth dying for, least of all for a launcher whose task would run on unwatched.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const own = process.argv.indexOf('--');
  const debug = process.argv.slice(0, own < 0 ? undefined : own).includes('--debug');
  Promise.resolve()
    .then(main)
    .then(
      (code) => exitAfterFlush(code),
      (err: unknown) => {
        if (err instanceof ExitError || err instanceof RegistryError) {
          process.stderr.write(`${prog}: ${err.message}\n`);
          if (debug && err.cause instanceof Error) process.stderr.write(`${err.cause.stack}\n`);
          exitAfterFlush(err instanceof ExitError ? err.exitCode : codes.registry);
          return;
        }
        const e = err as Error;
        process.stderr.write(`${prog}: internal error: ${e?.message ?? String(err)}${debug ? '' : ' (run with --debug for details)'}\n`);
        if (debug) process.stderr.write(`${e?.stack}\n`);
        exitAfterFlush(codes.internal);
      },
    );
}

/** stdout to a pipe is asynchronous in Node: exiting at once would cut a long table short. */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
