// Builds ../../static/vendor/plotly-heatmap.min.js from entry.js the way plotly.js builds its own dist
// bundles (esbuild, an IIFE that defines the global Plotly, es2016, minified, dependency licences kept at
// the end) with remote addresses made local or plain text (offline.js), for the release pinned in package.json: `make plotly-bundle` (needs node and npm).
// The dashboard uses it only while it is the same release as the plotly Python package's (app/assets.py).
'use strict';
const path = require('path');
const fs = require('fs');
const esbuild = require('esbuild');
const { offline } = require('./offline');
const { version } = require('plotly.js/package.json');

const out = path.join(__dirname, '..', '..', 'static', 'vendor', 'plotly-heatmap.min.js');
const banner = `/**
* plotly.js (heatmap - minified) v${version}
* A partial bundle of plotly.js: core (scatter, shapes, annotations, legend, hover, modebar) and heatmap,
* built by vmemscope's scripts/plotly_bundle (esbuild) from the npm package plotly.js@${version},
* its remote addresses made local or plain text for offline use (offline.js).
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license
*/`;

esbuild.build({
  entryPoints: [path.join(__dirname, 'entry.js')],
  outfile: out,
  format: 'iife',
  globalName: 'Plotly',
  bundle: true,
  minify: true,
  target: 'es2016',
  legalComments: 'eof',
  banner: { js: banner },
  // as plotly.js's own esbuild-config.js; the maplibre-gl CSS that src/registry.js requires is for map
  // traces only, which this bundle has not
  alias: { stream: 'stream-browserify' },
  define: { global: 'window', 'define.amd': 'false' },
  loader: { '.css': 'empty' },
  logLevel: 'info',
}).then(() => fs.writeFileSync(out, offline(fs.readFileSync(out, 'utf8'))))
  .catch((e) => { console.error(e.message); process.exit(1); });
