// Imported first by every bundled program. NODE_EXTRA_CA_CERTS makes every Node process parse that
// bundle of certificates as it starts (30 ms of a 50 ms start on these machines, where it names the
// system's whole bundle, and about 1 MB). None of our programs makes a TLS connection unless its
// registry is a PostgreSQL URL, so their shell lines (scripts/bundle.js) set the variable aside before
// exec'ing Node, unless an argument or TASKWATCH_DB holds a URL; here it is put back, before anything
// reads the environment, so tasks, pools and their instances inherit it unchanged.

export const SAVED_CA_CERTS = 'TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS';

const saved = process.env[SAVED_CA_CERTS];
if (saved !== undefined) {
  if (process.env.NODE_EXTRA_CA_CERTS === undefined) process.env.NODE_EXTRA_CA_CERTS = saved;
  delete process.env[SAVED_CA_CERTS];
}

/**
 * The environment for one of our programs started as `node FILE` (not through its shell line), with
 * the variable set aside by the same rule: unless `registry` or an argument holds a URL.
 */
export function caCertsAside(env: NodeJS.ProcessEnv, registry: string, args: readonly string[]): NodeJS.ProcessEnv {
  if (env.NODE_EXTRA_CA_CERTS === undefined || [registry, ...args].some((a) => a.includes('://'))) return env;
  const { NODE_EXTRA_CA_CERTS: saved, ...rest } = env;
  return { ...rest, [SAVED_CA_CERTS]: saved };
}
