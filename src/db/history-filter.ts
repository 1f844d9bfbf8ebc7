// One filter for history rows, for both databases: they differ only in how a parameter is marked.

/** Which history rows: by task name, outcome and host, each when given; `before`: only rows of a lower id (a page after a page). */
export interface HistoryFilter {
  name?: string;
  outcome?: string;
  host?: string;
  before?: number;
}

/**
 * The WHERE clause (or '') and its arguments. `mark` writes the n-th argument's placeholder (from 1):
 * SQLite's `?` by default, `$n` for PostgreSQL.
 */
export function historyWhere(f: HistoryFilter, mark: (n: number) => string = () => '?'): { w: string; args: Array<string | number> } {
  const where: string[] = [];
  const args: Array<string | number> = [];
  for (const [column, v] of [['taskname', f.name], ['outcome', f.outcome], ['host', f.host]] as const) {
    if (v === undefined) continue;
    args.push(v);
    where.push(`${column} = ${mark(args.length)}`);
  }
  if (f.before !== undefined) {
    args.push(f.before);
    where.push(`id < ${mark(args.length)}`);
  }
  return { w: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}
