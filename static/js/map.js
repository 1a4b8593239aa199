// The physical memory map: draws the server-built figure (app/figures.py) and turns Plotly's
// zoom, hover and click events into calls back to main.js. What is added here is about the screen
// it is shown on: text scaled for presenter mode, fixed-point callouts placed so none overlaps or is
// cut off at the plot's real width, and 1-pfn bands (a huge page's head, frames HVO freed from a
// self-hosted memmap) drawn at least MIN_PX wide with an outline at any zoom.
import { $, fromHex, OFFLINE_PLOTLY, plain } from "./util.js";

const BASE_FONT = 13, PRESENTER_FONT = 18, MIN_PX = 4, GAP_PX = 8;
// the top margin one level of callouts needs (placeCallouts: a 30 px arrow, a line of 13 px text in its
// box, 8 px), given before the first draw: placing the callouts then moves only them, never the margin
// (which would redraw the whole plot a second time)
const CALLOUT_TOP = 64, FIRST_AX = 12, FIRST_AY = 30, PLACEMENTS = 32;
// narrow roles that must never vanish inside a wider neighbour, with their PALETTE colour
const EMPHASIS = { hugetlb_head: "#882255", hvo_freed_selfhosted: "#d55e00" };

/** Resolves once the async Plotly bundle has run. */
export const plotlyReady = new Promise((ok) => {
  if (window.Plotly) ok();
  else document.getElementById("plotly-js").addEventListener("load", () => ok(), { once: true });
});

const presenter = () => document.body.classList.contains("presenter");

/** The layout with every text size (fonts, annotations, legend, title) and margin scaled by k. */
export function scaled(layout, k) {
  if (k === 1) return layout;
  const font = (f, base) => ({ ...(f || {}), size: Math.round(((f && f.size) || base) * k) });
  const m = layout.margin || {};
  return {
    ...layout,
    font: font(layout.font, BASE_FONT),
    legend: layout.legend && { ...layout.legend, font: font(layout.legend.font, BASE_FONT) },
    title: layout.title && { ...layout.title, font: font(layout.title.font, 16) },
    annotations: (layout.annotations || []).map((a) => ({ ...a, font: font(a.font, BASE_FONT) })),
    margin: Object.fromEntries(Object.entries(m).map(([s, v]) => [s, Math.round(v * k)])),
    height: layout.height && Math.round(layout.height * k),
  };
}

/** Outlined rectangles, at least MIN_PX wide, over the bins that hold an EMPHASIS role. */
export function emphasis(meta, counts, plotPx) {
  const start = fromHex(meta.start_pfn), width = fromHex(meta.end_pfn) - start, nb = meta.bins;
  const minPfns = (MIN_PX * width) / Math.max(plotPx, 1);
  const edge = (i) => start + Math.floor((i * width) / nb);
  const shapes = [];
  for (const [role, colour] of Object.entries(EMPHASIS)) {
    const c = counts[role];
    if (!c) continue;
    const runs = [];
    for (let i = 0; i < nb; i++) {
      if (!c[i]) continue;
      const last = runs[runs.length - 1];
      if (last && edge(i) - last[1] < minPfns) last[1] = edge(i + 1);      // closer than MIN_PX: one mark
      else runs.push([edge(i), edge(i + 1)]);
    }
    for (const [a, b] of runs.slice(0, 400)) {
      const pad = Math.max(0, (minPfns - (b - a)) / 2);
      shapes.push({ type: "rect", x0: a - 0.5 - pad, x1: b - 0.5 + pad, y0: -0.5, y1: 0.5, layer: "above",
                    fillcolor: colour, line: { color: "#000", width: 1.5 }, name: `emphasis:${role}` });
    }
  }
  return shapes;
}

/** Place the fixed-point callouts on levels so that no two overlap and none leaves the plot: measured
 * from the drawn boxes, so it holds for any font size and plot width. When the full sentences do not fit
 * side by side, the callouts shrink to "pfn X ↺" (the sentences stay in the list under the map and in
 * the callout's hover text), so no arrow crosses another callout's text. */
async function declutter(gd, drawn) {
  const anns = gd.layout.annotations || [];
  const idx = anns.map((a, i) => i).filter((i) => anns[i].name === "self-mapping" && anns[i].showarrow !== false);
  if (!idx.length) return {};
  let plan = placeCallouts(gd, idx);
  let short = {};
  if (plan.levels > 1) {
    short = Object.fromEntries(idx.flatMap((i) => {
      const pfn = /pfn (0x[0-9a-f]+)/.exec(anns[i].text)?.[1];
      return pfn ? [[`annotations[${i}].text`, `pfn ${pfn} \u21ba`], [`annotations[${i}].hovertext`, anns[i].text]] : [];
    }));
    await window.Plotly.relayout(gd, short);
    drawn();
    plan = placeCallouts(gd, idx);
  }
  // moving an annotation is a full redraw in Plotly (its editType has "calc"): only if one moves
  const moved = ([k, v]) => (typeof v === "number" ? !(Math.abs(current(gd.layout, k) - v) < 0.5) : current(gd.layout, k) !== v);
  if (Object.entries(plan.update).some(moved)) { await window.Plotly.relayout(gd, plan.update); drawn(); }
  return { ...short, ...plan.update };
}

/** The value of "annotations[3].ax" or "margin.t" in a layout. */
function current(layout, key) {
  const m = /^annotations\[(\d+)\]\.(\w+)$/.exec(key);
  return m ? layout.annotations?.[Number(m[1])]?.[m[2]] : key === "margin.t" ? layout.margin?.t : undefined;
}

/** Callouts not placed yet start where a lone one ends up (placeCallouts' first level, 12 px right of
 * its pfn): the usual single callout is then drawn in place at once. */
function firstLevel(layout) {
  return { ...layout, annotations: (layout.annotations || []).map((a) => (a.name === "self-mapping" && a.showarrow !== false
    ? { ...a, ax: FIRST_AX, ay: -FIRST_AY, xanchor: "left" } : a)) };
}

/** Apply a declutter() result ("annotations[3].ay": -56, "margin.t": 90, ...) to a layout before drawing. */
function withPlacement(layout, update) {
  const out = { ...layout, annotations: (layout.annotations || []).map((a) => ({ ...a })), margin: { ...layout.margin } };
  for (const [k, v] of Object.entries(update)) {
    const m = /^annotations\[(\d+)\]\.(\w+)$/.exec(k);
    if (m && out.annotations[Number(m[1])]) out.annotations[Number(m[1])][m[2]] = v;
    else if (k === "margin.t") out.margin.t = v;
  }
  return out;
}

function placeCallouts(gd, idx) {
  const anns = gd.layout.annotations, L = gd._fullLayout;
  const right = L.width - 4;
  const items = idx.map((i) => {
    const box = gd.querySelector(`.annotation[data-index="${i}"] .bg`)?.getBoundingClientRect();
    return { i, tip: L._size.l + L.xaxis.l2p(anns[i].x), w: box ? box.width : 0, h: box ? box.height : 20 };
  }).sort((a, b) => a.tip - b.tip);
  const ends = [];                                             // per level: the right edge used so far
  const update = {};
  let top = 0;
  for (const it of items) {
    const x0 = Math.max(4, Math.min(it.tip + FIRST_AX, right - it.w));    // slid left rather than cut off
    let lv = ends.findIndex((r) => r + GAP_PX <= x0);
    if (lv < 0) { ends.push(0); lv = ends.length - 1; }
    ends[lv] = x0 + it.w;
    const ay = -(FIRST_AY + lv * (it.h + GAP_PX));
    top = Math.max(top, -ay + it.h + 8);
    Object.assign(update, { [`annotations[${it.i}].ax`]: x0 - it.tip,
      [`annotations[${it.i}].ay`]: ay, [`annotations[${it.i}].xanchor`]: "left" });
  }
  if (top > L.margin.t) update["margin.t"] = top;
  return { update, levels: ends.length };
}

export class MemoryMap {
  constructor(div, { onZoom, onHover, onClick, onMark }) {
    this.div = div;
    this.handlers = { onZoom, onHover, onClick, onMark };
    this.bound = false;
    this.last = null;
    this.placed = new Map();   // callout placements by what they depend on (the last PLACEMENTS views)
    this.draws = 0;            // Plotly draws of the map (react, relayout): one per render when placed at once
  }

  /** Draw the server's figure (with the window's per-bin counts) for this screen. */
  async render(fig, counts) {
    this.last = { fig, counts };
    const config = { ...OFFLINE_PLOTLY, responsive: true, displaylogo: false, scrollZoom: true,
                     modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage", "sendChartToCloud"] };
    await plotlyReady;
    const k = presenter() ? PRESENTER_FONT / BASE_FONT : 1;
    let layout = scaled(fig.layout, k);
    layout.shapes = [...(layout.shapes || []), ...emphasis(layout.meta, counts || {}, this.pixels)];
    if ((layout.annotations || []).some((a) => a.name === "self-mapping" && a.showarrow !== false)) {
      layout.margin = { ...layout.margin, t: Math.max(layout.margin?.t ?? 0, Math.round(CALLOUT_TOP * k)) };
    }
    // the callouts' places depend only on them, the plot width and the text size: measured once per view
    // (with their indexes: a placement is a list of "annotations[i]" updates)
    const key = JSON.stringify([this.pixels, layout.font, layout.margin,
      (layout.annotations || []).map((a, i) => [a.name, i, a.x, a.text]).filter((a) => a[0] === "self-mapping")]);
    const placed = this.placed.get(key);
    layout = placed ? withPlacement(layout, placed) : firstLevel(layout);
    await window.Plotly.react(this.div, fig.data, layout, config);
    this.draws += 1;
    if (!placed) {
      this.placed.set(key, await declutter(this.div, () => { this.draws += 1; }));
      if (this.placed.size > PLACEMENTS) this.placed.delete(this.placed.keys().next().value);
    }
    if (!this.bound) this.bind();
  }

  /** Presenter mode changed: forget the drawn plot, so the next render fits the card anew. */
  reset() {
    window.Plotly?.purge(this.div);
    this.bound = false;
  }

  bind() {
    const d = this.div;
    d.on("plotly_relayout", (ev) => {
      if ("xaxis.range[0]" in ev) this.handlers.onZoom(ev["xaxis.range[0]"], ev["xaxis.range[1]"]);
      else if (Array.isArray(ev["xaxis.range"])) this.handlers.onZoom(...ev["xaxis.range"]);
      else if (ev["xaxis.autorange"]) this.handlers.onZoom(null, null);
    });
    d.on("plotly_hover", (ev) => {
      const p = ev.points?.[0];
      if (p && p.data.type === "heatmap") this.handlers.onHover(plain(p.text), p.customdata);
    });
    d.on("plotly_click", (ev) => {
      const p = ev.points?.[0];
      if (p && p.data.type === "heatmap") this.handlers.onClick(p.customdata);
    });
    d.on("plotly_clickannotation", (ev) => {
      if (ev.annotation?.name === "self-mapping") this.handlers.onMark(ev.annotation.text);
    });
    this.bound = true;
  }

  /** Width in pixels of the plot area: one bin per pixel column. */
  get pixels() {
    const L = this.div._fullLayout;
    if (L && L._size) return Math.max(64, Math.floor(L._size.w));
    return Math.max(64, Math.floor(($(".main-svg", this.div)?.clientWidth || this.div.clientWidth || 800) - 40));
  }
}
