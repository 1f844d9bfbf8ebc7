// Compiles launch's watch helper (native/beat-watch.c) beside the bundled launch. Without a C
// compiler launch still works: it looks at the feedback file itself, at the cost of a Node wake-up
// per threshold instead of the helper's (src/launch/heartbeat.ts). So a missing compiler is said, not fatal.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const out = 'dist/bin/tw-beat-watch';
fs.mkdirSync('dist/bin', { recursive: true });
const cc = process.env.CC || 'cc';
const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', out, 'native/beat-watch.c'], { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  fs.rmSync(out, { force: true });
  console.warn(`build: no ${out} (${r.error ? `${cc}: ${r.error.code}` : `${cc} exited ${r.status}`}); launch will look at feedback files itself`);
}
