// Bundles the page into the Python package, so `pip install` needs no npm:
// src/sheer/web/static/app.js, app.css (imported by main.js) and layout-worker.js.
// `node build.mjs --watch` rebuilds on every change.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const options = {
  entryPoints: { app: 'src/main.js', 'layout-worker': 'src/graph/layout-worker.js' },
  outdir: '../src/sheer/web/static',
  entryNames: '[name]',
  bundle: true,
  minify: !watch,
  format: 'iife',
  target: ['chrome110', 'firefox115', 'safari16'],
  legalComments: 'eof',
  logLevel: 'info',
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
