// NODE_EXTRA_CA_CERTS costs every Node process a parse of that bundle at start. launch, run as a
// program on SQLite, starts Node without it and puts it back for the task: the task's environment is
// the one launch was given, and a registry that may be a URL (PostgreSQL, perhaps over TLS) keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bin, freshRegistry, run, tmpdir, waitFor } from './helpers';
import { caCertsAside } from '../src/ca-certs';

/** The task prints its own variable and the launcher's start-up environment (its parent's /proc environ). */
const REPORT = `printf 'task=[%s] saved=[%s]\\n' "\${NODE_EXTRA_CA_CERTS-unset}" "\${TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS-unset}"; tr '\\0' '\\n' < /proc/$PPID/environ | grep -c '^NODE_EXTRA_CA_CERTS=' || true`;

async function launched(env: NodeJS.ProcessEnv, ...extra: string[]) {
  const t = freshRegistry();
  // As a program, so that its shell lines run; the task's parent is the launcher (the helper execs it).
  const r = await run(bin('launch'), ['--', 'sh', '-c', REPORT, ...extra], { ...t.env, TASKWATCH_CGROUP: 'off', ...env });
  assert.equal(r.code, 0, r.stderr);
  const [line, count] = r.stdout.trim().split('\n');
  return { line, launcherHasIt: count === '1' };
}

test('NODE_EXTRA_CA_CERTS: launch starts Node without it on SQLite, and the task gets it back unchanged', async () => {
  const bundle = path.join(tmpdir('ca-'), 'extra certs.pem'); // a space in the name: passed through as it is
  fs.writeFileSync(bundle, '');
  const given = await launched({ NODE_EXTRA_CA_CERTS: bundle });
  assert.equal(given.line, `task=[${bundle}] saved=[unset]`);
  assert.equal(given.launcherHasIt, false, 'the launcher started without it');

  const empty = await launched({ NODE_EXTRA_CA_CERTS: '' });
  assert.equal(empty.line, 'task=[] saved=[unset]', 'set but empty stays set but empty');

  const none = await launched({ NODE_EXTRA_CA_CERTS: undefined }); // spawn leaves out an undefined variable
  assert.equal(none.line, 'task=[unset] saved=[unset]');
  assert.equal(none.launcherHasIt, false);
});

test('NODE_EXTRA_CA_CERTS: kept for the launcher when an argument or TASKWATCH_DB may be a URL', async () => {
  const url = await launched({ NODE_EXTRA_CA_CERTS: '/nonexistent/certs.pem' }, 'postgres://db.example/x');
  assert.equal(url.line, 'task=[/nonexistent/certs.pem] saved=[unset]');
  assert.equal(url.launcherHasIt, true, 'a URL among the arguments keeps it for Node');
});

test('NODE_EXTRA_CA_CERTS: control, run as a program, starts a pool\'s supervisor without it, and the instances get it unchanged', async (ctx) => {
  const t = freshRegistry();
  const out = path.join(t.dir, 'seen');
  const env = { ...t.env, NODE_EXTRA_CA_CERTS: '/some where/certs.pem' };
  ctx.after(() => run(bin('control'), ['--scale', 'ca', '0'], env));
  // The pool's supervisor (launch --pool, spawned by control with control's environment) is the
  // instance's parent: the instance reports its own variable and what the supervisor was started with.
  const report = `printf '%s|%s|' "$NODE_EXTRA_CA_CERTS" "\${TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS-unset}" > ${out}; ` +
    `e=$(tr '\\0' '\\n' < /proc/$PPID/environ); ` +
    `printf '%s %s\\n' "$(echo "$e" | grep -c '^NODE_EXTRA_CA_CERTS=')" "$(echo "$e" | grep -c '^TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS=/some where/certs.pem$')" >> ${out}; exec sleep 300`;
  const r = await run(bin('control'), ['--scale', 'ca', '1', '--', 'sh', '-c', report], env);
  assert.equal(r.code, 0, r.stderr);
  const seen = await waitFor(() => (fs.existsSync(out) && fs.readFileSync(out, 'utf8').endsWith('\n') ? fs.readFileSync(out, 'utf8') : ''), 15_000, 'the instance to write what it sees');
  // The supervisor's start-up environment: the variable 0 times, the value set aside once.
  assert.equal(seen, '/some where/certs.pem|unset|0 1\n', 'the instance has it as given; the supervisor started with it set aside');
});

test('caCertsAside: the variable set aside unless the registry or an argument is a URL', () => {
  const env = { NODE_EXTRA_CA_CERTS: '/c.pem', PATH: '/bin' };
  assert.deepEqual(caCertsAside(env, '/var/tw.db', ['--pool', 'p']), { PATH: '/bin', TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS: '/c.pem' });
  assert.equal(caCertsAside(env, 'postgres://db/x', ['--pool', 'p']), env);
  assert.equal(caCertsAside(env, '/var/tw.db', ['--pool', 'a://b']), env);
  assert.equal(caCertsAside({ PATH: '/bin' }, '/var/tw.db', []).NODE_EXTRA_CA_CERTS, undefined);
});
