// One filter for history rows, for both databases: they differ only in how a parameter is marked.

/** Which history rows: by task name, outcome and host, each when given. */
export interface HistoryFilter {
  name?: string;
  outcome?: string;
  host?: string;
}

/**
 * The WHERE clause (or '') and its arguments. `mark` writes the n-th argument's placeholder (from 1):
 * SQLite's `?` by default, `$n` for PostgreSQL.
 */
export function historyWhere(f: HistoryFilter, mark: (n: number) => string = () => '?'): { w: string; args: string[] } {
  const where: string[] = [];
  const args: string[] = [];
  for (const [column, v] of [['taskname', f.name], ['outcome', f.outcome], ['host', f.host]] as const) {
    if (v === undefined) continue;
    args.push(v);
    where.push(`${column} = ${mark(args.length)}`);
  }
  return { w: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}
