// The bundle for offline rooms: plotly.js carries remote addresses as defaults (the topojson CDN, the
// chart-studio server, the logo's link) and as documentation links in its messages and licences. The
// defaults become local or empty (static/js/util.js OFFLINE_PLOTLY sets them again for every plot); the
// links lose their scheme, so they stay readable text and nothing in the bundle names a fetchable
// address. XML namespace names (www.w3.org/2000/svg, ...) are identifiers that createElementNS needs
// as they are, and are kept. Usage: node offline.js FILE (build.js applies it to every build).
'use strict';
const fs = require('fs');

const DEFAULTS = [
  ['dflt:"https://cdn.plot.ly/un/"', 'dflt:"/static/vendor/"'],          // config.topojsonURL
  ['dflt:"https://cloud.plotly.com/newchart"', 'dflt:""'],               // config.plotlyServerURL
  ['t.href="https://plotly.com/"', 't.href=""'],                         // the logo (displaylogo: false)
];
const NAMESPACES = /^http:\/\/www\.w3\.org\/(1999\/xhtml|1999\/xlink|2000\/svg|2000\/xmlns\/|XML\/1998\/namespace)/;

function offline(src) {
  for (const [from, to] of DEFAULTS) {
    if (!src.includes(from)) throw new Error(`offline.js: ${from} not found: check this plotly.js release`);
    src = src.split(from).join(to);
  }
  return src.replace(/https?:\/\/[^\s"'`)<>\\]*/g, (url) => (NAMESPACES.test(url) ? url : url.replace(/^https?:\/\//, '')));
}

module.exports = { offline };

if (require.main === module) {
  const file = process.argv[2];
  fs.writeFileSync(file, offline(fs.readFileSync(file, 'utf8')));
}
