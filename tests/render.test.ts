import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderList, table } from '../src/control/render';
import type { ListEntry } from '../src/control/entries';

test('render: rows past the cli-table3 part are byte for byte what cli-table3 prints', () => {
  const head = ['taskid', 'name', 'wide 名前', 'status'];
  const rows = Array.from({ length: 95 }, (_, i) => [String(i), `task-${'x'.repeat(i % 13)}`, i % 7 ? '' : '日本語', i % 3 ? 'RUNNING' : 'STALLED']);
  const whole = table(head, rows, Infinity); // cli-table3 for every row
  assert.equal(table(head, rows, 40), whole);
  assert.equal(table(head, rows, 1), whole);
  assert.equal(whole.split('\n').length, 3 + 95 * 2);
});

test('render: the list table; control characters in names cannot reach the terminal', () => {
  const e: ListEntry = {
    taskid: 7, name: 'evil\u001b[2Jname\nx', info1: null, info2: null, info3: null, pid: 123, status: 'SILENT', starttime: null,
    duration: 2.5, feedback: true, timer: 1, timeout: 4, cpu: 0.5, memory: 2 * 1048576, containment: 'cgroup', restarts: 0, last_outcome: null, pool: null, instance: null,
  };
  const out = renderList([e]);
  assert.doesNotMatch(out, /\u001b/);
  assert.match(out, /│ 7\s+│ evil\?\[2Jname\?x │ +│ +│ +│ 123 │ SILENT │ +│ 2\.5 +│ yes +│ 1\.0 +│ 4 +│ 0\.5 +│ 2\.0 MB │/);
  assert.equal(renderList([]), 'No tasks.');
});
