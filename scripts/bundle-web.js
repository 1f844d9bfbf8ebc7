// Builds the page of control --serve into dist/web: app.ts bundled and minified for the browser,
// the stylesheet minified, index.html copied. Everything it needs is in these files: no CDN.
const esbuild = require('esbuild');
const fs = require('node:fs');

fs.mkdirSync('dist/web', { recursive: true });
esbuild.buildSync({ entryPoints: ['web/app.ts'], bundle: true, minify: true, format: 'iife', target: ['chrome110', 'firefox110', 'safari16'], logLevel: 'warning', outfile: 'dist/web/app.js' });
esbuild.buildSync({ entryPoints: ['web/app.css'], bundle: true, minify: true, logLevel: 'warning', outfile: 'dist/web/app.css' });
fs.copyFileSync('web/index.html', 'dist/web/index.html');
