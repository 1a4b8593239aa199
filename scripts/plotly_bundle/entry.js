'use strict';
// What the dashboard draws: plotly.js core (the scatter trace, shapes, annotations, legend, hover, zoom,
// modebar) and the heatmap trace (the map's hover and click layer). No calendars, no other trace.
var Plotly = require('plotly.js/lib/core');

Plotly.register([require('plotly.js/lib/heatmap')]);

module.exports = Plotly;
