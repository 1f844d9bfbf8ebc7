// control --history --json at any size: printed a page at a time, the plain rows built by SQLite and
// the odd ones (legacy, tampered) by historyEntry, with the same result as mapping every row in
// JavaScript; a reader that goes away ends it quietly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { bin, freshRegistry } from './helpers';
import { historyEntry } from '../src/control/entries';
import type { HistoryRow } from '../src/db/registry';

/** Every history row mapped in JavaScript, newest first: what --history --json printed before it streamed. */
function mappedInJs(db: string, limit: number): unknown[] {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT * FROM history ORDER BY id DESC LIMIT ?').all(limit) as HistoryRow[]).map(historyEntry);
  } finally {
    d.close();
  }
}

test('--history --json: SQLite\'s JSON for plain rows and historyEntry for odd ones agree, page after page', async () => {
  const t = freshRegistry();
  const r1 = await t.launch('--name', 'plain', '--feedpath', t.dir, '--', 'sh', '-c', 'echo "[result]ok ✓ \\"quoted\\"" >> "$TASKWATCH_FEEDBACK"');
  assert.equal(r1.code, 0, r1.stderr);
  const r2 = await t.launch('--name', 'no feedback', '--', 'sh', '-c', 'exit 3');
  assert.equal(r2.code, 3, r2.stderr);
  const d = new Database(t.db);
  try {
    const plain = (id: number | bigint) => (d.prepare('SELECT plain FROM history WHERE id = ?').get(id) as { plain: number }).plain;
    assert.deepEqual([plain(1), plain(2)], [1, 1], 'rows as launch writes them are plain');
    const cols = (d.prepare('PRAGMA table_info(history)').all() as Array<{ name: string }>).map((c) => c.name).filter((c) => c !== 'id');
    const copy = d.prepare(`INSERT INTO history (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM history WHERE id = ?`);
    const odd = d.prepare('UPDATE history SET command = ?, feedback = ? WHERE id = ?');
    // [command, feedback, whether SQLite may print the row itself]
    const cases: Array<[string | null, string | Buffer | null, number]> = [
      ['not json', null, 0],
      ['"one string"', 'not json', 0],
      ['[1, "two", null, {"a": 1}]', '"{\\"legacy\\":\\"double\\"}"', 0],
      [null, '[1, 2]', 0],
      ['["x"]', '{"n": 1, "s": "t"}', 0],
      ['["x"]', Buffer.from('{"a":"\xff"}', 'latin1'), 1], // not UTF-8
      ['["x"]', '{"a": "b", "a": "c"}', 1],
      ['["x"]', '{}', 1],
      ['["a\x01b"]', null, 0], // a raw control character: not JSON, and the mark SQLite's pages use for odd rows
      ['[ "spaced" ]', '{ "k" : "v" }', 1],
    ];
    for (const [command, feedback, printable] of cases) {
      const id = copy.run(1).lastInsertRowid;
      odd.run(command, feedback, id);
      // Whoever writes the row, the triggers decide whether it is plain; setting the flag does not.
      d.prepare('UPDATE history SET plain = 1 WHERE id = ?').run(id);
      assert.equal(plain(id), printable, `${command} ${feedback}`);
    }
    // More than two pages of plain rows, and the odd ones again among the last.
    d.transaction(() => {
      for (let i = 0; i < 4500; i++) copy.run(1 + (i % 2));
      for (let id = 3; id < 3 + cases.length; id++) copy.run(id);
    })();
  } finally {
    d.close();
  }
  for (const limit of [3, 2000, 4321, 1_000_000]) {
    const printed = await t.json<Array<{ id: number }>>('--history', '--limit', String(limit));
    const expected = mappedInJs(t.db, limit);
    assert.equal(printed.length, expected.length, `--limit ${limit}`);
    assert.deepEqual(printed, expected, `--limit ${limit}`);
    for (let i = 1; i < printed.length; i++) assert.ok(printed[i].id < printed[i - 1].id, 'newest first, each row once');
  }
  const named = await t.json<Array<{ name: string }>>('--history', '--name', 'no feedback', '--limit', '1000000');
  assert.ok(named.length > 2000 && named.every((e) => e.name === 'no feedback'));
});

test('--history --json: a reader that goes away ends it quietly, exit 0', async () => {
  const t = freshRegistry();
  assert.equal((await t.launch('--', 'true')).code, 0);
  const d = new Database(t.db);
  const cols = (d.prepare('PRAGMA table_info(history)').all() as Array<{ name: string }>).map((c) => c.name).filter((c) => c !== 'id');
  const copy = d.prepare(`INSERT INTO history (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM history LIMIT ?`);
  d.transaction(() => {
    for (let n = 1; n < 20_000; n *= 2) copy.run(n);
  })();
  d.close();
  const p = spawn(process.execPath, [bin('control'), '--history', '--json', '--limit', '1000000'], { env: { ...process.env, ...t.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (c) => (stderr += c));
  const first = await new Promise<string>((resolve) => p.stdout.once('data', (c: Buffer) => resolve(c.toString())));
  p.stdout.destroy(); // as `| head -c 100` does once it has its bytes
  const code = await new Promise<number | null>((resolve) => p.on('exit', resolve));
  assert.ok(first.startsWith('['), first);
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
