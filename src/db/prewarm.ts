// Imported first by launch and control: when the registry is a postgres:// URL, the PostgreSQL
// connection's worker thread starts now and connects while the rest of the program loads (on two
// cores, in parallel with it). It reads --db (before any `--`) or TASKWATCH_DB itself, cheaply;
// on SQLite it loads nothing.

function registryArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--db') return argv[i + 1];
    if (a.startsWith('--db=')) return a.slice(5);
  }
  return process.env.TASKWATCH_DB;
}

const given = registryArg(process.argv.slice(2));
if (given && /^postgres(ql)?:\/\//i.test(given)) {
  try {
    (require('./postgres') as typeof import('./postgres')).prewarm(given);
  } catch {
    /* opened the usual way later, which says what is wrong */
  }
}
