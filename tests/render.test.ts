import { test } from 'node:test';
import assert from 'node:assert/strict';
import { age, compact, renderList, renderPools, table, when } from '../src/control/render';
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
    duration: 2.5, feedback: true, timer: 1, timeout: 4, cpu: 0.5, memory: 2 * 1048576, containment: 'cgroup', restarts: 0, last_outcome: null, pool: null, instance: null, host: 'box1',
  };
  const out = renderList([e]);
  assert.doesNotMatch(out, /\u001b/);
  assert.match(out, /│ 7\s+│ evil\?\[2Jname\?x │ +│ +│ +│ 123 │ SILENT │ +│ 2\.5 +│ yes +│ 1\.0 +│ 4 +│ 0\.5 +│ 2\.0 MB │ box1 │/);
  assert.equal(renderList([]), 'No tasks.');
});

test('render: compact tables fit the width, giving up room in the flexible columns first and cutting with …', () => {
  const head = ['ID', 'NAME', 'STATUS', 'ERROR'];
  const rows = [['1', 'a-very-long-task-name-indeed', 'RUNNING', 'exited with code 2 after a long and winding road']];
  const out = compact(head, rows, 60, [3, 1]).split('\n');
  assert.ok(out.every((l) => l.length <= 60), out.join('\n'));
  assert.match(out[1], /^1\s+a-very-long-task-name-indeed\s+RUNNING\s+exited.*…$/, 'the error gives up room before the name');
  const narrow = compact(head, rows, 30, [3, 1]).split('\n');
  assert.ok(narrow.every((l) => l.length <= 30), narrow.join('\n'));
  assert.match(narrow[1], /RUNNING/, 'columns that are not flexible are never cut');
  assert.match(narrow[1], /a-very.*…/);
  // Wide characters count as two columns.
  const cjk = compact(['N', 'X'], [['名前名前名前名前', 'x']], 10, [0]).split('\n');
  assert.equal(cjk[1], '名前名…  x');
  // Ages as a person reads them.
  assert.deepEqual([age(null), age(42), age(252), age(3 * 3600 + 300), age(2 * 86400 + 4 * 3600)], ['', '42.0s', '4m12s', '3h05m', '2d04h']);
});

test('render: the compact list shows pool instances as NAME.N and only the info columns in use', () => {
  const base: ListEntry = {
    taskid: 3, name: 'web', info1: null, info2: null, info3: null, pid: 99, status: 'RUNNING', starttime: null,
    duration: 75, feedback: false, timer: null, timeout: null, cpu: 1.25, memory: 3 * 1048576, containment: null, restarts: 2, last_outcome: null, pool: 'web', instance: 4, host: 'box1',
  };
  const out = renderList([base], { wide: false, width: 80 }).split('\n');
  assert.deepEqual(out[0].split(/\s{2,}/), ['ID', 'NAME', 'STATUS', 'PID', 'AGE', 'TIMER', 'CPU%', 'MEM', 'RESTARTS']);
  assert.match(out[1], /^3\s+web\.4\s+RUNNING\s+99\s+1m15s\s+1\.3\s+3\.0M\s+2$/);
  // Tasks of more than one host: the host is shown.
  const two = renderList([base, { ...base, taskid: 4, instance: 5, host: 'box2' }], { wide: false, width: 80 }).split('\n');
  assert.deepEqual(two[0].split(/\s{2,}/), ['ID', 'NAME', 'HOST', 'STATUS', 'PID', 'AGE', 'TIMER', 'CPU%', 'MEM', 'RESTARTS']);
  assert.match(two[2], /^4\s+web\.5\s+box2\s+RUNNING/);
});

test('render: the compact pools table says how long ago, not when', () => {
  const p = { name: 'web', desired: 3, active: 2, command: ['node', 'server.js'], created: 1000, supervisor_pid: 4242, supervised_since: 1000, last_heartbeat: 1250.5, dead: 1, stalled: 0, restarts: 1 };
  const out = renderPools([p, { ...p, name: 'idle', desired: 2, active: 0, supervisor_pid: null, supervised_since: null, last_heartbeat: null }], { wide: false, width: 80 }, 1252).split('\n');
  assert.deepEqual(out[0].split(/\s{2,}/), ['POOL', 'WANT', 'UP', 'SUPERVISOR', 'SINCE', 'BEAT', 'DEAD', 'STALLED', 'RESTARTS', 'COMMAND']);
  assert.match(out[1], /^web\s+3\s+2\s+4242\s+4m12s\s+1\.5s\s+1\s+0\s+1\s+node server\.js$/);
  assert.match(out[2], /^idle\s+2\s+0\s+none\s+1\s+0\s+1\s+node server\.js$/, 'a wanted pool without a supervisor says so');
});

test('render: a moment is its time alone today, its day and minute before', () => {
  const now = new Date(2026, 10, 23, 15, 4, 5).getTime() / 1000;
  assert.equal(when(now - 3600, now), '14:04:05');
  assert.equal(when(now - 86400, now), '11-22 15:04');
  assert.equal(when(null, now), '');
});
