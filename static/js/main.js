// Wires the dashboard: the one scenario state (state.js) and its history, the controls, and apply(),
// which re-derives every view from the state (tables here, the rest in views.js). The server computes
// and draws (figures come from app/figures.py); the page only keeps state, asks and draws the answers.
import { api, ApiError } from "./api.js";
import { History } from "./history.js";
import { fillControls, fillPresets, machineEdits } from "./machine-form.js";
import { MemoryMap } from "./map.js";
import { renderBlocks, renderEvents, renderHugepages, renderImport, renderSummary } from "./panels.js";
import { fromUrl, stateUrl, updatePermalink } from "./permalink.js";
import { ask, evaluation, machineRange, seedEvaluation, viewQueries, viewWithin } from "./queries.js";
import { DEFAULT_WS, SavedPanel, scenariosPath, workspaceOf, wsQuery } from "./saved.js";
import { clearErrors, currentStep, pageSize, S, showError, stamp, totalOps } from "./state.js";
import { $, clone, fromHex, hex, parseSize } from "./util.js";
import { deriveChain, deriveSections, deriveVmemmap, drawMap, findBootFixed, showChain } from "./views.js";
import { bindDiagramSize, VMEMMAP_ROWS } from "./vmemmap.js";
import { loadWalkthrough, parseWalkthroughPath, renderWalkthrough, seedWalkthrough, setOffScript } from "./walkthrough.js";

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
  const views = Promise.all([drawMap(map), deriveVmemmap(), deriveChain(), deriveSections()]);
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
  fillControls(doc, ev, S.presets);
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

// ------------------------------------------------------------------ controls
function bindControls() {
  bindDiagramSize();
  fillPresets(S.presets);

  $("#machine-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const edit = machineEdits(S.history.doc, S.presets);
    if (!edit) return;
    if (edit.moved) S.view = null;                 // another machine: its own range
    commit(edit.doc, "machine");
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
    redrawMap();                                   // as many bins as the resized plot has pixels
  });
  document.querySelectorAll("[data-zoom]").forEach((b) => b.addEventListener("click", () => zoom(b.dataset.zoom)));
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
  return redrawMap();
}

/** The map alone, for another view of the same state (zoom, pan, presenter mode). */
async function redrawMap() {
  if (await drawMap(map)) rendered();
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
  if (got.evaluated) seedEvaluation(got.evaluated.scenario, got.evaluated.answer);
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
