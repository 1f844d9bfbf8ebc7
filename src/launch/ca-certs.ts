// Imported first by launch. NODE_EXTRA_CA_CERTS makes every Node process parse that bundle of
// certificates as it starts (30 ms of a 50 ms start on these machines, where it names the system's
// whole bundle). A launcher on SQLite makes no TLS connection, so launch's shell lines (scripts/bundle.js)
// set it aside before exec'ing Node, unless the registry may be a URL; here it is put back, before
// anything reads the environment, so the task (and a pool's instances) inherit it unchanged.

export const SAVED_CA_CERTS = 'TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS';

const saved = process.env[SAVED_CA_CERTS];
if (saved !== undefined) {
  if (process.env.NODE_EXTRA_CA_CERTS === undefined) process.env.NODE_EXTRA_CA_CERTS = saved;
  delete process.env[SAVED_CA_CERTS];
}
