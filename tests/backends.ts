import { test, type TestContext } from 'node:test';
import * as path from 'node:path';
import { Client } from 'pg';
import { registryKey, tmpdir, tw } from './helpers';
import { postgresMissing, startPostgres, type PgServer } from './pg-server';

// The suites that must hold whichever database keeps the registry run once per backend: SQLite (a
// file in a scratch directory) and PostgreSQL (a database of its own on a throwaway server, one
// server per test file, started at the first test that needs it and removed at exit).

export type BackendName = 'sqlite' | 'postgres';

/** A registry with launch and control bound to it: a file path or a postgres:// URL in `db`. */
export type Fresh = ReturnType<typeof tw> & { dir: string; backend: BackendName };

let server: Promise<PgServer> | undefined;
/** This test file's PostgreSQL server. */
export function pgServer(): Promise<PgServer> {
  server ??= startPostgres();
  return server;
}

/**
 * Why PostgreSQL tests are skipped here, or false. CI sets TASKWATCH_REQUIRE_POSTGRES (after
 * installing the package): there a missing server fails the tests instead.
 */
export const pgSkip = (): string | false => (process.env.TASKWATCH_REQUIRE_POSTGRES ? false : (postgresMissing() ?? false));

export async function fresh(backend: BackendName): Promise<Fresh> {
  const dir = tmpdir();
  if (backend === 'sqlite') return { dir, backend, ...tw(path.join(dir, 'tw.db')) };
  return { dir, backend, ...tw(await (await pgServer()).createDb()) };
}

export const BACKENDS: BackendName[] = ['sqlite', 'postgres'];

/** One test per backend, named for it; `t` is a new registry of that backend. */
export function eachBackend(name: string, body: (t: Fresh, ctx: TestContext) => Promise<void>, o: { timeout?: number } = {}): void {
  for (const b of BACKENDS) {
    test(`${b}: ${name}`, { skip: b === 'postgres' ? pgSkip() : false, timeout: o.timeout }, async (ctx) => body(await fresh(b), ctx));
  }
}

/** The registry's key (feedback file names carry it), from either database. */
export async function keyOf(db: string): Promise<string> {
  if (!/^postgres(ql)?:\/\//.test(db)) return registryKey(db);
  const c = new Client({ connectionString: db });
  await c.connect();
  try {
    return (await c.query(`SELECT value FROM meta WHERE key = 'registry_key'`)).rows[0]?.value ?? '';
  } finally {
    await c.end();
  }
}

/** Where launch puts task `id`'s feedback file in `dir` for the registry `db`. */
export async function feedbackFileOf(db: string, dir: string, id: number | string): Promise<string> {
  const key = await keyOf(db);
  return path.join(dir, key ? `feedback_${id}-${key}.log` : `feedback_${id}.log`);
}
