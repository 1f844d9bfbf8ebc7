// Bundles the programs into one file each (no module resolution at start-up, so less time and memory
// per watched task). launch is headed by a few lines that make it a shell script as well as JavaScript: run as a
// program, sh reads which signals were ignored when launch started (nohup, `cmd &`) before Node
// resets them all, then execs node on the same file, whose JavaScript sees those lines as a string
// and a comment. The inspector port is one no machine can bind, so a SIGUSR1 during start-up opens
// nothing; from the first statement on, SIGUSR1 has a listener and never reaches the inspector.
// Under npx (npm exec), which does not pass signals on, launch is told when npm's shell dies.
// Every program (launch, control, the epoll_demo fleet) sets NODE_EXTRA_CA_CERTS aside for Node's
// start unless an argument or TASKWATCH_DB holds a URL (a PostgreSQL registry may need it for TLS),
// and puts it back first thing (src/ca-certs.ts).
const esbuild = require('esbuild');

const setCaAside =
  `if [ -n "\${NODE_EXTRA_CA_CERTS+set}" ]; then case "$TASKWATCH_DB $*" in *://*) ;; *) TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; ` +
  'export TASKWATCH_SAVED_NODE_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS;; esac; fi; ';
const node = 'node --inspect-port=240.0.0.1:1024 "$0" "$@"';
const banner = [
  '#!/bin/sh',
  `':' //; { while read -r k v; do if [ "$k" = SigIgn: ]; then TASKWATCH_SIGIGN=$v; export TASKWATCH_SIGIGN; break; fi; done </proc/$$/status; } 2>/dev/null; ` +
    setCaAside +
    `if [ "$npm_command" = exec ] && command -v setpriv >/dev/null; then exec setpriv --pdeathsig TERM ${node}; fi; exec ${node}`,
  "process.on('SIGUSR1', function () {});",
].join('\n');
/** The other programs' lines: only the certificates set aside. */
const plainBanner = ['#!/bin/sh', `':' //; ${setCaAside}exec node "$0" "$@"`].join('\n');
// A worker runs V8's interpreter only (--jitless; --no-expose-wasm, which it implies, so V8 does not
// warn). A worker lives short (its task) or sleeps; what it costs is its first few thousand turns,
// where the optimizing compiler's work never paid back: 8 workers sharing 20,000 zero-second tasks
// on 2 cores went about a quarter faster without it, on about a sixth less CPU (bench: demo
// dispatch). A pool starts many. The controller keeps its JIT: it runs the whole dispatch.
const workerBanner = ['#!/bin/sh', `':' //; ${setCaAside}exec node --jitless --no-expose-wasm "$0" "$@"`].join('\n');

/** What every bundle is: one minified file for Node 20, names kept for stack traces. */
const common = { bundle: true, minifyWhitespace: true, minifySyntax: true, keepNames: true, platform: 'node', target: 'node20', logLevel: 'warning' };

esbuild.buildSync({
  ...common,
  entryPoints: ['bin/launch.ts'],
  external: ['better-sqlite3/build/Release/better_sqlite3.node'],
  banner: { js: banner },
  outfile: 'dist/bin/launch.js',
});

// control in one file too: it runs for every --list, and Node resolving and reading its ~60 modules
// (yargs' among them) was most of its start. Each command's module is still evaluated only when it
// runs (esbuild keeps a lazy require lazy). The server's fastify stays a plain require: --serve is
// one long-running process, and fastify loads some of its parts by name.
esbuild.buildSync({
  ...common,
  entryPoints: ['bin/control.ts'],
  external: ['better-sqlite3/build/Release/better_sqlite3.node', 'fastify', '@fastify/*', 'chokidar'],
  banner: { js: plainBanner },
  outfile: 'dist/bin/control.js',
});

// The PostgreSQL connection's worker thread, with node-postgres, in one file too: a launcher or a
// control on PostgreSQL starts it every time, and one file loads in a fraction of the time of pg's forty.
esbuild.buildSync({
  ...common,
  entryPoints: ['src/db/pg-worker.ts'],
  external: ['pg-native'],
  outfile: 'dist/src/db/pg-worker.bundle.js',
});

// The epoll_demo fleet's programs in one file each: a pool starts many workers at once, and each
// one's start (Node resolving and reading yargs' modules) competed with the dispatch it joins.
for (const prog of ['task-worker', 'task-controller', 'task-admin']) {
  esbuild.buildSync({
    ...common,
    entryPoints: [`bin/${prog}.ts`],
    external: ['better-sqlite3/build/Release/better_sqlite3.node', 'pg-native'],
    banner: { js: prog === 'task-worker' ? workerBanner : plainBanner },
    outfile: `dist/bin/${prog}.js`,
  });
}
