import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveStatus, statusForAge } from '../src/task/status';
import { endingFields, endingOf, exitStatus, failedToStart, type Exit, type Reason } from '../src/task/outcome';
import { nextRun, parseBackoff } from '../src/task/restart';

test('statusForAge: thresholds at 25%, 50% and 100% of the timeout', () => {
  const T = 1000;
  const cases: Array<[number, string, number]> = [
    [-50, 'RUNNING', 250],
    [0, 'RUNNING', 250],
    [249, 'RUNNING', 1],
    [250, 'SILENT', 250],
    [499, 'SILENT', 1],
    [500, 'STALLED', 500],
    [999, 'STALLED', 1],
    [1000, 'TIMEOUT', 0],
    [5000, 'TIMEOUT', 0],
  ];
  for (const [age, status, next] of cases) {
    assert.deepEqual(statusForAge(age, T), { status, nextInMs: next }, `age ${age}`);
  }
});

test('deriveStatus: reserved, lost, unwatched, watched and other hosts\' tasks', () => {
  const base = { reserved: false, launcherAlive: true, timeoutMs: 1000, ageMs: 0 };
  assert.equal(deriveStatus({ ...base, reserved: true, launcherAlive: false }), 'RESERVED');
  assert.equal(deriveStatus({ ...base, launcherAlive: false }), 'LOST');
  assert.equal(deriveStatus({ ...base, timeoutMs: null, ageMs: null }), 'RUNNING');
  assert.equal(deriveStatus({ ...base, ageMs: 100 }), 'RUNNING');
  assert.equal(deriveStatus({ ...base, ageMs: 300 }), 'SILENT');
  assert.equal(deriveStatus({ ...base, ageMs: 700 }), 'STALLED');
  assert.equal(deriveStatus({ ...base, ageMs: 1200 }), 'STALLED');
  // Another host's task: its launcher's word, unless it is gone or between runs.
  assert.equal(deriveStatus({ ...base, ageMs: null, recorded: 'RUNNING' }), 'RUNNING');
  assert.equal(deriveStatus({ ...base, ageMs: 100, recorded: 'STALLED' }), 'STALLED');
  assert.equal(deriveStatus({ ...base, launcherAlive: false, recorded: 'RUNNING' }), 'LOST');
  assert.equal(deriveStatus({ ...base, backoff: true, recorded: 'SILENT' }), 'BACKOFF');
});

test('endingOf: exit code, signal and stop reason to outcome, columns and launch status', () => {
  const exit = (code: number | null, signal: string | null): Exit => (signal ? { code: null, signal } : { code: code ?? 0, signal: null });
  const cases: Array<[number | null, string | null, Reason | null, string, number, number | null]> = [
    [0, null, null, 'exited', 0, 0],
    [3, null, null, 'exited', 3, 3],
    [null, 'SIGSEGV', null, 'signaled', 139, null],
    [null, 'SIGKILL', null, 'signaled', 137, null],
    [null, 'SIGTERM', { kind: 'timeout', note: 'quiet' }, 'timeout', 124, null],
    [0, null, { kind: 'timeout', note: 'max' }, 'timeout', 124, 0],
    [null, 'SIGTERM', { kind: 'killed', note: 'by control' }, 'killed', 143, null],
    [2, null, { kind: 'killed', note: 'by control' }, 'killed', 2, 2],
  ];
  for (const [code, sig, reason, outcome, status, exitcode] of cases) {
    const e = endingOf(exit(code, sig), reason);
    const f = endingFields(e);
    assert.equal(e.outcome, outcome);
    assert.equal(exitStatus(e), status);
    assert.equal(f.exitcode, exitcode);
    assert.equal(f.termsignal, sig);
  }
  assert.equal(endingFields(endingOf(exit(0, null), null)).termerror, null);
  assert.equal(endingFields(endingOf(exit(3, null), null)).termerror, 'exited with code 3');
  assert.match(endingFields(endingOf(exit(null, 'SIGTERM'), { kind: 'timeout', note: 'no heartbeat' })).termerror!, /no heartbeat \(killed by SIGTERM\)/);
  const lost = endingOf(null, { kind: 'lost', note: 'launcher vanished' });
  assert.deepEqual(endingFields(lost, ['feedback capped']), { outcome: 'lost', exitcode: null, termsignal: null, termerror: 'launcher vanished; feedback capped' });
  assert.equal(endingOf(null, null).outcome, 'lost', 'an exit nobody saw is a lost task');
});

test('failedToStart: 127 not found, 126 not executable, 125 otherwise', () => {
  const nf = failedToStart('ENOENT', 'nope');
  assert.deepEqual([nf.outcome, exitStatus(nf), endingFields(nf).termerror], ['failed_to_start', 127, 'command not found: nope']);
  const ne = failedToStart('EACCES', '/etc/passwd');
  assert.deepEqual([ne.outcome, exitStatus(ne)], ['failed_to_start', 126]);
  assert.equal(exitStatus(failedToStart('EAGAIN', 'x', 'no processes left')), 125);
});

test('nextRun: the restart rule, the backoff doubling from MIN to MAX, and its reset after a long run', () => {
  const rule = (policy: 'no' | 'on-failure' | 'always', maxRestarts: number | null = null) => ({ policy, maxRestarts, backoffMinSec: 0.5, backoffMaxSec: 4 });
  const fail = endingOf({ code: 3, signal: null }, null);
  const ok = endingOf({ code: 0, signal: null }, null);
  const stall = endingOf({ code: null, signal: 'SIGTERM' }, { kind: 'timeout', note: 'no heartbeat' });
  const killed = endingOf({ code: null, signal: 'SIGTERM' }, { kind: 'killed', note: 'control --kill' });
  const s0 = { restarts: 0, streak: 0 };
  assert.deepEqual(nextRun(rule('no'), fail, 10, s0), { restart: false, why: 'no --restart' });
  assert.equal(nextRun(rule('on-failure'), ok, 10, s0).restart, false);
  assert.equal(nextRun(rule('always'), ok, 10, s0).restart, true);
  assert.equal(nextRun(rule('on-failure'), stall, 10, s0).restart, true, 'a stall is a failure');
  assert.equal(nextRun(rule('always'), killed, 10, s0).restart, false, 'a kill is the end');
  const delays: number[] = [];
  let s = s0;
  for (let i = 0; i < 6; i++) {
    const d = nextRun(rule('always'), fail, 10, s);
    assert.ok(d.restart);
    delays.push(d.delayMs);
    s = d.next;
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 4000, 4000]);
  const reset = nextRun(rule('always'), fail, 5000, s);
  assert.ok(reset.restart && reset.delayMs === 500, 'a run longer than MAX starts the backoff over');
  assert.deepEqual(nextRun(rule('on-failure', 2), fail, 10, { restarts: 2, streak: 2 }), { restart: false, why: 'it was restarted 2 times already (--max-restarts 2)' });
  assert.deepEqual(parseBackoff('0.5:60'), { minSec: 0.5, maxSec: 60 });
  assert.deepEqual(parseBackoff('2'), { minSec: 2, maxSec: 30 });
  assert.equal(parseBackoff('5:1'), null);
  assert.equal(parseBackoff('soon'), null);
});
