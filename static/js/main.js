// Wires the dashboard: scenario history, controls, API calls and panels. The server computes and
// draws (figures come from app/figures.py); this module only keeps state and asks.
import { api, ApiError } from "./api.js";
import { History } from "./history.js";
import { MemoryMap } from "./map.js";
import { renderBlocks, renderChain, renderEvents, renderHugepages, renderSections, renderSummary } from "./panels.js";
import { bindDiagramSize, renderVmemmap, VMEMMAP_ROWS } from "./vmemmap.js";
import { ask, bootChainQueries, machineRange, sectionsQuery, viewQueries, viewWithin, vmemmapQuery, windowQuery } from "./queries.js";
import { loadWalkthrough, parseWalkthroughPath, renderWalkthrough, seedWalkthrough, setOffScript } from "./walkthrough.js";
import { $, clone, count, el, formatSize, fromHex, hash, hex, parseSize } from "./util.js";
import { DEFAULT_WS, SavedPanel, scenariosPath, workspaceOf, wsQuery } from "./saved.js";

const S = {
  presets: null, history: null, step: null, view: null, sel: null, chainPfn: null, wt: null, bootFixed: [], bootReady: null,
  id: null, ref: null, ev: null, key: null, content: null, saving: null, mapSeq: 0, renders: 0,
  ws: DEFAULT_WS,            // the workspace whose list saves go to (?ws= in the URL and in permalinks)
};
// what tests and the browser benchmark read (no polling of private state)
window.vmemscope = { state: S, renders: 0, map: null };

const totalOps = () => S.history.doc.ops.length;
const currentStep = () => (S.step == null ? totalOps() : S.step);

// ------------------------------------------------------------------ errors next to their control
function clearErrors() { document.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; }); }
function showError(where, err) {
  const p = document.querySelector(`[data-error-for="${where}"]`) || document.querySelector('[data-error-for="scenario"]');
  p.textContent = err instanceof ApiError ? err.message : String(err.message || err);
}

// ------------------------------------------------------------------ evaluate and draw
/** Evaluate a document (at a step) and save it, both asked at once. The views are drawn from the
 * evaluation with the document inline; the save, a database write, is not waited for to draw: its id
 * (state key, permalink, later queries) is awaited while they are drawn (apply). */
async function evaluateDoc(doc, step) {
  const shown = step == null || step >= doc.ops.length ? doc : { ...doc, ops: doc.ops.slice(0, step) };
  const saved = api(`${scenariosPath(S.ws)}?listed=false`, doc);   // kept for the permalink, not listed
  saved.catch(() => {});                           // its failure is reported by apply
  const { key, answer } = evaluation(shown);
  return { ev: await answer, saved, whole: shown === doc, ref: { scenario: shown }, content: key };
}

/** The engine's evaluation of a document, asked once per content: undo, redo, the step slider and
 * walkthrough steps that show the same machine (their documents differ in name only, which changes
 * nothing the evaluation says) reuse the answer. The last EVALUATIONS are kept. */
const EVALUATIONS = 16;
const HUGEPAGES_LISTED = 500;                    // as the page's own answer lists (app/routers/machine.py)
const evaluations = new Map();                   // content hash (the document less its name) -> answer

const contentKey = (doc) => hash(JSON.stringify({ ...doc, name: undefined }));

function evaluation(shown) {
  const key = contentKey(shown);
  let answer = evaluations.get(key);
  if (answer) {
    evaluations.delete(key);                       // most recent last
  } else {
    answer = api("/api/v1/evaluate", { scenario: shown, hugepages_limit: HUGEPAGES_LISTED });
    answer.catch(() => evaluations.delete(key));   // refusals are asked again (and reported) next time
  }
  evaluations.set(key, answer);
  while (evaluations.size > EVALUATIONS) evaluations.delete(evaluations.keys().next().value);
  return { key, answer };
}

/** Try a new document; keep it (undo-able) only if the API accepts it (evaluates and saves it). */
async function commit(doc, where) {
  clearErrors();
  if (S.wt && !S.wt.offScript) { S.wt.offScript = true; setOffScript(true); }   // leaving the script
  let r;
  try {
    r = await evaluateDoc(doc, null);
  } catch (e) {
    showError(where, e);
    return;
  }
  S.history.push(doc);
  S.step = null;
  const refused = await apply(r);
  if (refused) {                                   // evaluated but not saved (its name): not kept
    S.history.drop();
    await reload();
    showError(where, refused);
  }
}

/** The one scenario state (document, step, view, selection, chain) -> every view. Each view is
 * re-derived here on every change (control, undo/redo, step, import, walkthrough step) and stamped with
 * the state it shows (data-state: the document's content and the step), so no panel can keep
 * yesterday's answer. The views are drawn from the evaluation without waiting for the save (a database
 * write), whose id then makes the permalink (settle). Resolves, once the save has answered, to its
 * error if the API refused the document (4xx), else null; a store that cannot write (503) leaves the
 * document drawn, unsaved, and says so. drawn() is called as soon as every view is drawn. */
let applied = 0;
async function apply(r, drawn = () => {}) {
  const seq = ++applied;
  S.ev = r.ev; S.ref = r.ref; S.content = r.content;
  S.id = null;                                     // until this state's save answers
  S.key = `${S.content}@${currentStep()}`;
  S.saving = settle(r, seq);
  S.bootReady = findBootFixed();                   // asked for while the map's window is on its way
  const views = Promise.all([drawMap(false), deriveVmemmap(), deriveChain(), deriveSections()]);
  renderAll();                                     // the tables, while those answers travel
  await views;                                     // each asks the server first, then draws its answer
  rendered();
  drawn();
  return S.saving;
}

/** apply, for a state that is shown whatever the save says (undo, redo, steps, first load). */
async function show(r, drawn) {
  const refused = await apply(r, drawn);
  if (refused) showError("scenario", refused);
}

/** The save's answer: the saved id (permalink, shorter queries, the list's mark), or why not. */
async function settle(r, seq) {
  let saved;
  try {
    saved = await r.saved;
  } catch (e) {
    if (seq !== applied) return null;              // a later state is shown: its own save speaks
    if (e instanceof ApiError && e.status >= 400 && e.status < 500) return e;   // commit undoes it, then says why
    showError("scenario", new Error(`not saved, so no permalink: ${e.message}`));
    return null;
  }
  if (seq !== applied) return null;
  S.id = saved.id;
  if (r.whole) S.ref = { scenario_id: saved.id };  // later queries (zoom, hover) name it: small bodies
  updatePermalink();
  savedPanel.refresh();                            // marks the entry shown, if listed
  return null;
}

function stamp(...sels) { sels.forEach((s) => { $(s).dataset.state = S.key; }); }

function renderAll() {
  const ev = S.ev;
  const doc = S.history.doc;
  $("#scenario-name").textContent = doc.name || "untitled";
  document.title = `${doc.name || "untitled"} (${ev.totals.kernel} on ${ev.totals.arch}): vmemscope`;
  renderSummary(ev.totals, ev);
  renderBlocks(ev.blocks, { onOp: addOp("blocks"), onVmemmap: showVmemmap, selected: S.sel });
  renderHugepages(ev.hugepages, ev.hugepages_total, {
    onFree: (h) => addOp("hugepages")({ op: "free_hugepage", at: hex(fromHex(h.head_pfn) * pageSize()) }),
    onVmemmap: showVmemmap, selected: S.sel });
  renderEvents(ev.events, currentStep(), totalOps());
  $("#undo").disabled = !S.history.canUndo;
  $("#redo").disabled = !S.history.canRedo;
  fillControls();
  stamp("#summary", "#blocks", "#hugepages", "#events");
}

/** The map, the marks and the permalink are drawn; tell tests and the benchmark (one counter). */
function rendered() {
  updatePermalink();
  document.body.dataset.state = S.key;
  S.renders += 1;
  window.vmemscope.renders = S.renders;
  document.body.dataset.renders = String(S.renders);
  if (S.renders === 1) performance.mark("vmemscope:first-render");
  performance.mark(`vmemscope:render-${S.renders}`);
}

function pageSize() { return parseSize(S.ev.totals.page_size); }

async function drawMap(alone = true) {
  S.view = viewWithin(S.view, S.ev);
  const seq = ++S.mapSeq;
  const { start, end } = S.view;
  try {
    const [w] = await Promise.all([ask(...windowQuery(S, map.pixels)), S.bootReady]);
    if (seq !== S.mapSeq) return;               // a newer zoom is on its way
    const meta = w.figure.layout.meta.self_mapping_pfns;
    const boot = S.bootFixed.filter((p) => start <= fromHex(p) && fromHex(p) < end && !meta.includes(p));
    w.figure.layout.annotations = [...(w.figure.layout.annotations || []), ...boot.map(bootCallout)];
    await map.render(w.figure, w.counts);
    const ps = pageSize(), last = fromHex(w.end_pfn) - 1;
    $("#view-range").textContent = `pfns ${w.start_pfn}-${hex(last)} = physical addresses ` +
      `${hex(fromHex(w.start_pfn) * ps)}-${hex((last + 1) * ps - 1)}; ${w.bins} bins of ` +
      count(Math.max(1, Math.round((end - start) / w.bins)), "page");
    const marks = [...w.figure.layout.meta.self_mapping_pfns, ...boot];
    $("#marks").replaceChildren(...marks.map((p, k) => el("button", { type: "button", class: "mark",
      id: k ? null : "self-mapping", title: `follow pfn ${p}: whose struct page is stored where`,
      onclick: () => showChain(p) }, `struct page of pfn ${p} lives in pfn ${p}${boot.includes(p) ? BOOT_NOTE : ""}`)));
    window.vmemscope.lastWindow = { start_pfn: w.start_pfn, end_pfn: w.end_pfn, bins: w.bins, counts: w.counts };
    $("#map-text").textContent = describeMap(w, marks);
    stamp("#map", "#marks");
    if (alone) rendered();
  } catch (e) {
    if (seq === S.mapSeq) showError("map", e);
  }
}

const BOOT_NOTE = " (boot memmap)";

/** Fixed points of the boot memmap, which the engine finds (/chain's fixed_point, queries.js); the
 * figure marks only hot-plugged blocks' ones. */
async function findBootFixed() {
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
async function deriveVmemmap() {
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
async function deriveSections() {
  try {
    renderSections(await ask(...sectionsQuery(S)));
  } catch (e) {
    showError("sections", e);
  }
  stamp("#sections");
}

/** The chain of the last clicked pfn, followed again in the current state. */
async function deriveChain(report = false) {
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

// ------------------------------------------------------------------ operations
const addOp = (where) => async (op) => {
  const doc = clone(S.history.doc);
  doc.ops = doc.ops.slice(0, currentStep());     // acting at an earlier step forks the history there
  doc.ops.push(op);
  await commit(doc, where);
};

async function showVmemmap(target) {
  clearErrors();
  S.sel = target.block != null ? `block:${target.block}` : `hp:${target.head_pfn}`;
  await deriveVmemmap();
  renderAll();
  updatePermalink();
}

async function showChain(pfn) {
  clearErrors();
  S.chainPfn = pfn;
  await deriveChain(true);
}

// ------------------------------------------------------------------ controls
function presetKey(m) {
  const ps = formatSize(parseSize(m.page_size ?? "4K"));
  const p = S.presets.machines.find((x) => x.arch === (m.arch ?? "x86_64") && x.page_size === ps &&
    (x.arch !== "x86_64" || x.paging_levels === (m.paging_levels ?? 4)));
  return p ? p.key : S.presets.machines[0].key;
}

const DEFAULT_BOOT = [{ start: "0x0", size: "4G", node: 0 }];
const memstartOf = (machine) => (machine?.arch === "arm64" ? machine.memstart ?? "0x40000000" : "0x0");

/** What the machine form shows for a document (fillControls writes these, machineEdits compares). */
function machineFields(doc) {
  const params = { memmap_on_memory: "on", hugetlb_free_vmemmap: true, selfhosted_check: "merged", ...doc.params };
  const boot = doc.boot_memory || DEFAULT_BOOT;
  return { preset: presetKey(doc.machine || {}), kernel: doc.kernel ?? "6.8", mmo: params.memmap_on_memory,
           hvo: params.hugetlb_free_vmemmap, policy: params.selfhosted_check, ranges: boot.length,
           nodes: new Set(boot.map((r) => r.node ?? 0)).size,
           boot: formatSize(boot.map((r) => parseSize(r.size)).reduce((a, b) => a + b, 0)) };
}

/** The document with only the fields whose control the user changed (null: nothing changed). Other
 * fields, multi-range and multi-node boot memory included, are kept as they are. */
function machineEdits(old) {
  const shown = machineFields(old), doc = clone(old);
  let changed = false;
  const param = (name, value, was) => {
    if (value === was) return;
    doc.params = { ...(doc.params || {}), [name]: value };
    changed = true;
  };
  if ($("#kernel").value !== shown.kernel) { doc.kernel = $("#kernel").value; changed = true; }
  param("memmap_on_memory", $("#mmo").value, shown.mmo);
  param("hugetlb_free_vmemmap", $("#hvo").checked, shown.hvo);
  param("selfhosted_check", $("#policy").value, shown.policy);
  const size = $("#boot-size").value.trim();
  if (shown.ranges === 1 && size !== shown.boot) {
    doc.boot_memory = [{ ...(old.boot_memory || DEFAULT_BOOT)[0], size }];
    changed = true;
  }
  const p = S.presets.machines.find((x) => x.key === $("#machine-preset").value);
  if (p.key !== shown.preset) {                        // another architecture: a new scenario, same memory
    doc.machine = { ...(doc.machine || {}), arch: p.arch, page_size: p.page_size, paging_levels: p.paging_levels,
                    memstart: p.arch === "arm64" ? (doc.machine?.memstart ?? "0x40000000") : null };
    const shift = fromHex(memstartOf(doc.machine)) - fromHex(memstartOf(old.machine));
    doc.boot_memory = (old.boot_memory || DEFAULT_BOOT).map((r) => ({ ...r, start: hex(fromHex(r.start ?? "0x0") + shift) }));
    doc.ops = [];
    doc.name = `${(old.name || "untitled").replace(/ \(on [^)]*\)$/, "")} (on ${p.key})`;
    S.view = null;
    changed = true;
  }
  return changed ? doc : null;
}

function fillControls() {
  const f = machineFields(S.history.doc);
  $("#machine-preset").value = f.preset;
  $("#kernel").value = f.kernel;
  $("#mmo").value = f.mmo;
  $("#hvo").checked = f.hvo;
  $("#policy").value = f.policy;
  $("#boot-size").value = f.boot;
  // several ranges (an imported machine) are edited in the JSON, not squashed into one by this field
  $("#boot-size").readOnly = f.ranges > 1;
  $("#boot-note").textContent = f.ranges > 1 ? `${f.ranges} ranges on ${f.nodes} node${f.nodes > 1 ? "s" : ""}: kept as imported` : "";
  // hot-add defaults: the next free block-aligned address, one block
  const bsz = parseSize(S.ev.totals.memory_block_size);
  const top = fromHex(S.ev.pfn_ranges.all[1]) * pageSize();
  $("#add-start").value = hex(Math.ceil(top / bsz) * bsz);
  $("#add-size").value = S.ev.totals.memory_block_size;
  const preset = S.presets.machines.find((x) => x.key === f.preset);
  const sizes = preset.hugetlb_sizes;
  const cur = $("#huge-size").value;
  $("#huge-size").replaceChildren(...sizes.map((s) => Object.assign(document.createElement("option"), { value: s, textContent: s })));
  $("#huge-size").value = sizes.includes(cur) ? cur : (sizes.includes("2M") ? "2M" : sizes[0]);
}

function bindControls() {
  bindDiagramSize();
  $("#machine-preset").replaceChildren(...S.presets.machines.map((m) => Object.assign(document.createElement("option"),
    { value: m.key, textContent: `${m.key} (${m.page_size} pages${m.arch === "x86_64" ? `, ${m.paging_levels}-level` : ""})` })));
  $("#kernel").replaceChildren(...S.presets.kernels.map((k) => Object.assign(document.createElement("option"), { value: k, textContent: k })));

  $("#machine-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const doc = machineEdits(S.history.doc);
    if (doc) commit(doc, "machine");
  });

  $("#hotadd-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const doc = clone(S.history.doc);
    doc.ops = doc.ops.slice(0, currentStep());
    const start = $("#add-start").value.trim(), size = $("#add-size").value.trim();
    doc.ops.push({ op: "add_memory", start, size, node: Number($("#add-node").value), memmap_on_memory: $("#add-mmo").checked });
    if ($("#add-online").value) doc.ops.push({ op: "online", start, size, zone: $("#add-online").value });
    S.view = null;
    await commit(doc, "hotadd");
  });

  $("#huge-form").addEventListener("submit", (e) => {
    e.preventDefault();
    addOp("hugepages")({ op: "alloc_hugepages", size: $("#huge-size").value, count: Number($("#huge-count").value),
      node: Number($("#huge-node").value) });
  });

  $("#view-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const m = /^\s*(0x[0-9a-f]+)\s*-\s*(0x[0-9a-f]+)\s*$/i.exec($("#view-input").value);
    if (!m) { showError("map", new Error("view: give a range as 0xSTART-0xEND")); return; }
    const k = $("#view-unit").value === "addr" ? pageSize() : 1;
    clearErrors();
    setView(fromHex(m[1]) / k, fromHex(m[2]) / k);
  });
  $("#follow-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("#follow-pfn").value.trim();
    if (/^(0x)?[0-9a-f]+$/i.test(v)) showChain(v.startsWith("0x") ? v.toLowerCase() : hex(parseInt(v, 16)));
    else showError("map", new Error(`pfn: "${v}" is not a hex page frame number`));
  });
  $("#undo").addEventListener("click", undo);
  $("#redo").addEventListener("click", redo);
  document.addEventListener("keydown", (e) => {
    if (!(e.ctrlKey || e.metaKey) || ["INPUT", "SELECT"].includes(document.activeElement?.tagName)) return;
    if (e.key === "z") { e.preventDefault(); undo(); } else if (e.key === "y") { e.preventDefault(); redo(); }
  });
  $("#step").addEventListener("change", async () => {
    const k = Number($("#step").value);
    S.step = k >= totalOps() ? null : k;
    await reload();
  });
  $("#permalink").addEventListener("click", async () => {
    const box = $("#permalink-text");
    box.hidden = false;
    await S.saving;                                // the saved id, once the save answers
    box.value = updatePermalink();
    box.select();
  });
  $("#export").addEventListener("click", () => {
    const blob = new Blob([JSON.stringify(S.history.doc, null, 1)], { type: "application/json" });
    const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: `vmemscope-${S.id ?? "unsaved"}.json` });
    a.click();
    URL.revokeObjectURL(a.href);
  });
  $("#import").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    try {
      let doc = JSON.parse(await f.text());
      S.view = null;
      // a machine snapshot (vmemscope collect) or `lsmem --json` output: the server turns it into a
      // scenario and says which facts were observed and which inferred
      const body = doc.format === "vmemscope-snapshot" ? { snapshot: doc } : (Array.isArray(doc.memory) ? { lsmem: doc } : null);
      if (body) {
        const imp = await api("/api/v1/import", body);
        doc = imp.scenario;
        renderImport(imp);
      }
      await commit(doc, "scenario");
    } catch (err) {
      showError("scenario", err instanceof SyntaxError ? new Error(`${f.name} is not JSON: ${err.message}`) : err);
    }
    e.target.value = "";
  });
  $("#presenter").addEventListener("click", () => {
    const on = document.body.classList.toggle("presenter");
    $("#presenter").setAttribute("aria-pressed", String(on));
    map.reset();
    drawMap();                                   // as many bins as the resized plot has pixels
  });
  document.querySelectorAll("[data-zoom]").forEach((b) => b.addEventListener("click", () => zoom(b.dataset.zoom)));
}

function renderImport(imp) {
  const box = $("#import-facts");
  box.hidden = false;
  const list = (title, items) => {
    const ul = document.createElement("ul");
    const seen = new Map();                        // identical lines once, with how many
    items.forEach((t) => seen.set(t, (seen.get(t) || 0) + 1));
    ul.append(...[...seen].map(([t, n]) => el("li", {}, n > 1 ? `${t} (x${n})` : t)));
    const h = Object.assign(document.createElement("h3"), { textContent: title });
    return [h, ul];
  };
  box.replaceChildren(Object.assign(document.createElement("h2"), { textContent: "Imported machine" }),
    ...list("Observed", imp.observed), ...list("Inferred", imp.inferred), ...list("Notes", imp.notes || []));
}

async function undo() { if (S.history.canUndo) { S.history.undo(); S.step = null; await reload(); } }
async function redo() { if (S.history.canRedo) { S.history.redo(); S.step = null; await reload(); } }

async function reload() {
  clearErrors();
  try {
    await show(await evaluateDoc(S.history.doc, S.step));
  } catch (e) {
    showError("scenario", e);
  }
}

// ------------------------------------------------------------------ zoom and view
function setView(a, b) {
  const all = machineRange(S.ev, false);
  const max = Math.max(all.end, 1);
  let start = Math.max(0, Math.floor(a)), end = Math.min(max, Math.ceil(b));
  if (end - start < 16) { const mid = (start + end) / 2; start = Math.max(0, Math.floor(mid - 8)); end = Math.min(max, start + 16); }
  S.view = { start, end };
  return drawMap();
}

function zoom(kind) {
  const { start, end } = S.view, w = end - start;
  if (kind === "in") return setView(start + w / 4, end - w / 4);
  if (kind === "out") return setView(start - w / 2, end + w / 2);
  if (kind === "left") return setView(start - w / 2, end - w / 2);
  if (kind === "right") return setView(start + w / 2, end + w / 2);
  const r = machineRange(S.ev, kind === "hotplug") || machineRange(S.ev, false);
  return setView(r.start, r.end);
}

// ------------------------------------------------------------------ permalink
/** The URL of the state shown (document, step, view, selection), in workspace ws. */
function stateUrl(ws) {
  const q = new URLSearchParams(ws === DEFAULT_WS ? {} : { ws });
  if (S.id) q.set("s", S.id);
  if (S.step != null) q.set("step", String(S.step));
  if (S.view) q.set("v", `${hex(S.view.start)}-${hex(S.view.end)}`);
  if (S.sel) q.set("sel", S.sel);
  return `/?${q}`;
}

function updatePermalink() {
  const path = stateUrl(S.ws);
  if (!(S.wt && !S.wt.offScript)) history.replaceState(null, "", path);
  return `${location.origin}${path}`;
}

async function fromUrl() {
  const q = new URLSearchParams(location.search);
  let doc = JSON.parse($("#default-scenario").textContent);
  if (q.get("s")) doc = await api(`/api/v1/scenarios/${encodeURIComponent(q.get("s"))}`);
  if (q.get("step")) S.step = Number(q.get("step"));
  const v = /^(0x[0-9a-f]+)-(0x[0-9a-f]+)$/i.exec(q.get("v") || "");
  if (v) S.view = { start: fromHex(v[1]), end: fromHex(v[2]) };
  return { doc, sel: q.get("sel") };
}

// ------------------------------------------------------------------ start
const wsFromUrl = workspaceOf(location.search);
S.ws = wsFromUrl.ws;
const savedPanel = new SavedPanel(S.ws, {
  current: () => S.id,
  doc: () => S.history.doc,
  link: (id) => `/?${new URLSearchParams(S.ws === DEFAULT_WS ? { s: id } : { ws: S.ws, s: id })}`,
  // the same state (or walkthrough step), listed in the other workspace
  onSwitch: (ws) => location.assign(S.wt && !S.wt.offScript ? `/walkthroughs/${S.wt.slug}/${S.wt.step}${wsQuery(ws)}` : stateUrl(ws)),
});
if (wsFromUrl.error) savedPanel.error(wsFromUrl.error);

const map = new MemoryMap($("#map"), {
  onZoom: (a, b) => (a == null ? zoom("all") : setView(a + 0.5, b + 0.5)),
  onHover: (text) => { $("#details").textContent = text; },
  onClick: async (firstPfn) => {
    if ($("#place-mode").checked) {
      const size = parseSize($("#huge-size").value);
      const at = Math.floor((fromHex(firstPfn) * pageSize()) / size) * size;
      await addOp("hugepages")({ op: "alloc_hugepage", size: $("#huge-size").value, at: hex(at) });
    } else {
      await showChain(firstPfn);
    }
  },
  onMark: (text) => showChain(/pfn (0x[0-9a-f]+)/.exec(text)[1]),   // the sentence or "pfn X ↺"
});
window.vmemscope.map = map;

async function walkthroughState(where) {
  const wt = await loadWalkthrough(where.slug);
  const step = wt.steps[where.step - 1];
  if (!step) throw new Error(`walkthrough ${where.slug} has steps 1-${wt.steps.length}`);
  S.wt = { ...where, data: wt, offScript: false };
  S.view = stepView(step);
  renderWalkthrough(wt, where.step, {
    query: wsQuery(S.ws),
    onTry: () => { S.wt.offScript = true; setOffScript(true); updatePermalink(); },
    onBack: () => goToStep(where, false),
    onGo: (k) => goToStep({ slug: where.slug, step: k }, true),
  });
  setOffScript(false);
  return { doc: step.scenario, sel: stepSel(step) };
}

/** A walkthrough step's pfn range and selection, as the state holds them. */
function stepView(step) {
  const [start, end] = step.view.range.map(fromHex);
  return { start, end };
}
function stepSel(step) {
  const sel = step.view.select;
  return sel ? (sel.block != null ? `block:${sel.block}` : `hp:${sel.head_pfn}`) : null;
}

/** Another walkthrough step in place: no page load (history.pushState), the state replaced whole. */
async function goToStep(where, push) {
  document.body.dataset.ready = "false";
  clearErrors();
  try {
    const { doc, sel } = await walkthroughState(where);
    const path = `/walkthroughs/${where.slug}/${where.step}${wsQuery(S.ws)}`;
    if (push) history.pushState(null, "", path); else history.replaceState(null, "", path);
    S.history = new History(doc);
    S.step = null; S.sel = sel; S.chainPfn = null;
    await show(await evaluateDoc(doc, null), () => nextStepAhead(where));
  } catch (e) {
    showError("scenario", e);
  }
  document.body.dataset.ready = "true";
}

/** While a step is read, what the next one shows is asked for (the class goes there next): its
 * evaluation, then every view's question about it (queries.js), so that Next only draws. */
async function nextStepAhead(where) {
  const next = S.wt?.data.steps[where.step];       // steps count from 1
  if (!next) return;
  try {
    const ev = await evaluation(next.scenario).answer;
    const st = { ref: { scenario: next.scenario }, ev, view: viewWithin(stepView(next), ev), sel: stepSel(next) };
    await Promise.all(viewQueries(st, map.pixels, VMEMMAP_ROWS).map((q) => ask(...q)));
  } catch {
    /* asked again, and reported, when the step is shown */
  }
}

window.addEventListener("popstate", () => {
  const where = parseWalkthroughPath(location.pathname);
  if (where) goToStep(where, false); else location.reload();
});

async function listWalkthroughs() {
  const list = await api("/api/v1/walkthroughs");
  $("#walkthrough-list").replaceChildren(...list.map((w) => {
    const li = document.createElement("li");
    const a = Object.assign(document.createElement("a"), { href: `/walkthroughs/${w.slug}/1${wsQuery(S.ws)}`, textContent: w.title });
    li.append(a, ` (${w.steps} steps)`);
    return li;
  }));
}

/** What the page was served with (app/routers/pages.py): the presets, the /evaluate answer for the
 * document it opens, the walkthrough; whatever it lacks (a permalink's document) is asked for. */
function served() {
  const got = JSON.parse($("#served")?.textContent || "{}");
  if (got.evaluated) evaluations.set(contentKey(got.evaluated.scenario), Promise.resolve(got.evaluated.answer));
  if (got.walkthrough) seedWalkthrough(got.walkthrough);
  return got;
}

async function main() {
  try {
    // the first views' data is asked for at once, before Plotly's script runs (it comes after this one)
    const got = served();
    const presets = got.presets ? Promise.resolve(got.presets) : api("/api/v1/presets");
    const where = parseWalkthroughPath(location.pathname);
    const { doc, sel } = where ? await walkthroughState(where) : await fromUrl();
    const evaluated = evaluateDoc(doc, S.step);
    listWalkthroughs().catch((e) => showError("scenario", e));
    S.presets = await presets;
    bindControls();
    S.history = new History(doc);
    S.sel = sel;
    await show(await evaluated, () => where && nextStepAhead(where));
    document.body.dataset.ready = "true";
  } catch (e) {
    showError("scenario", e);
  }
}

main();
