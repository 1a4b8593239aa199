// The views drawn from the engine's answers about the current state (state.js): the map with its
// fixed-point marks, the vmemmap panel, the sections table and the followed chain. Each asks its
// question (queries.js), draws the answer and stamps itself with the state it shows.
import { renderChain, renderSections } from "./panels.js";
import { ask, bootChainQueries, sectionsQuery, viewWithin, vmemmapQuery, windowQuery } from "./queries.js";
import { clearErrors, pageSize, S, showError, stamp } from "./state.js";
import { $, count, el, fromHex, hex } from "./util.js";
import { renderVmemmap, VMEMMAP_ROWS } from "./vmemmap.js";

const BOOT_NOTE = " (boot memmap)";

/** The map of the view (kept inside the machine) on `map` (map.js MemoryMap), its marks and its words.
 * Resolves to true once drawn, false if a newer view overtook it or it failed (the error is shown). */
export async function drawMap(map) {
  S.view = viewWithin(S.view, S.ev);
  const seq = ++S.mapSeq;
  const { start, end } = S.view;
  try {
    const [w] = await Promise.all([ask(...windowQuery(S, map.pixels)), S.bootReady]);
    if (seq !== S.mapSeq) return false;          // a newer zoom is on its way
    const meta = w.figure.layout.meta.self_mapping_pfns;
    const boot = S.bootFixed.filter((p) => start <= fromHex(p) && fromHex(p) < end && !meta.includes(p));
    w.figure.layout.annotations = [...(w.figure.layout.annotations || []), ...boot.map(bootCallout)];
    await map.render(w.figure, w.counts);
    const ps = pageSize(), last = fromHex(w.end_pfn) - 1;
    $("#view-range").textContent = `pfns ${w.start_pfn}-${hex(last)} = physical addresses ` +
      `${hex(fromHex(w.start_pfn) * ps)}-${hex((last + 1) * ps - 1)}; ${w.bins} bins of ` +
      count(Math.max(1, Math.round((end - start) / w.bins)), "page");
    const marks = [...meta, ...boot];
    $("#marks").replaceChildren(...marks.map((p, k) => el("button", { type: "button", class: "mark",
      id: k ? null : "self-mapping", title: `follow pfn ${p}: whose struct page is stored where`,
      onclick: () => showChain(p) }, `struct page of pfn ${p} lives in pfn ${p}${boot.includes(p) ? BOOT_NOTE : ""}`)));
    window.vmemscope.lastWindow = { start_pfn: w.start_pfn, end_pfn: w.end_pfn, bins: w.bins, counts: w.counts };
    $("#map-text").textContent = describeMap(w, marks);
    stamp("#map", "#marks");
    return true;
  } catch (e) {
    if (seq === S.mapSeq) showError("map", e);
    return false;
  }
}

/** Fixed points of the boot memmap, which the engine finds (/chain's fixed_point, queries.js); the
 * figure marks only hot-plugged blocks' ones. */
export async function findBootFixed() {
  const chains = await Promise.all(bootChainQueries(S).map((q) => ask(...q)));
  S.bootFixed = [...new Set(chains.map((c) => c.fixed_point).filter((p) => p))];
}

/** A boot fixed point's callout, like the figure's for a hot-plugged block (placed by map.js). */
const bootCallout = (p) => ({
  x: fromHex(p), y: 0.5, ax: 30, ay: -34, xanchor: "left", showarrow: true, arrowhead: 2, arrowwidth: 2,
  arrowcolor: "#000", bgcolor: "#fff7d6", bordercolor: "#000", captureevents: true, font: { size: 13 },
  name: "self-mapping", text: `struct page of pfn ${p} lives in pfn ${p}${BOOT_NOTE}`,
});

/** The map in words (its text equivalent for screen readers): the range, the pages of each role, the
 * fixed points. */
function describeMap(w, marks) {
  const roles = Object.entries(w.counts).map(([r, c]) => [r, c.reduce((a, b) => a + b, 0)])
    .filter(([, n]) => n).sort((a, b) => b[1] - a[1]);
  return `Physical memory map of pfns ${w.start_pfn} to ${hex(fromHex(w.end_pfn) - 1)}: ` +
    roles.map(([r, n]) => `${r} ${n} ${n === 1 ? "page" : "pages"}`).join(", ") + ". " +
    marks.map((p) => `The struct page of pfn ${p} lives in pfn ${p}.`).join(" ");
}

/** The vmemmap panel shows the selected block or huge page of the current state, or says it is gone. */
export async function deriveVmemmap() {
  const { query, gone } = vmemmapQuery(S, VMEMMAP_ROWS);
  if (!query) { clearVmemmap(gone); return; }
  try {
    renderVmemmap(await ask(...query));
    stamp("#vmemmap-card");
  } catch (e) {
    showError("blocks", e);
  }
}

function clearVmemmap(why) {
  $("#vmemmap-title").textContent = "";
  $("#vmemmap-reason").textContent = why;
  $("#vmemmap-table").replaceChildren();
  $("#vmemmap-plot").replaceChildren();
  $("#vmemmap-size").hidden = true;
  stamp("#vmemmap-card");
}

/** The memory sections from the start of the view, in the current state. */
export async function deriveSections() {
  try {
    renderSections(await ask(...sectionsQuery(S)));
  } catch (e) {
    showError("sections", e);
  }
  stamp("#sections");
}

/** The chain of the last clicked pfn, followed again in the current state. */
export async function deriveChain(report = false) {
  if (S.chainPfn == null) { stamp("#chain"); return; }
  try {
    const [chain, page] = await Promise.all([ask("/api/v1/chain", { ...S.ref, pfn: S.chainPfn }),
      ask("/api/v1/resolve", { ...S.ref, pfns: [S.chainPfn] })]);
    renderChain(chain, page.pages[0], S.ev.fixed_point_notes);
  } catch (e) {
    $("#chain").replaceChildren();              // that pfn is not in this machine
    if (report) showError("map", e);
  }
  stamp("#chain");
}

/** Follow a pfn (a click on the map or a mark, the form): whose struct page is stored where. */
export async function showChain(pfn) {
  clearErrors();
  S.chainPfn = pfn;
  await deriveChain(true);
}
