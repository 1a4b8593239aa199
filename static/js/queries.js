// The questions each view asks the engine about a state, and their answers, asked once. A state here is
// { ref, ev, view, sel }: the scenario (inline, or by its id, a content hash), its /evaluate answer, the
// pfn range shown and the selected block or huge page. An answer is a pure function of its question, so
// a question asked again (undo, a step revisited) or ahead of time (the next walkthrough step, while
// this one is read: main.js) is answered from here.
import { api } from "./api.js";
import { fromHex, hash, hex } from "./util.js";

/** The engine's evaluation of a document, asked once per content: undo, redo, the step slider and
 * walkthrough steps that show the same machine (their documents differ in name only, which changes
 * nothing the evaluation says) reuse the answer. The last EVALUATIONS are kept. */
const EVALUATIONS = 16;
const HUGEPAGES_LISTED = 500;                    // as the page's own answer lists (app/routers/machine.py)
const evaluations = new Map();                   // content hash (the document less its name) -> answer

const contentKey = (doc) => hash(JSON.stringify({ ...doc, name: undefined }));

/** { key: the document's content hash, answer: Promise of its /evaluate answer }. */
export function evaluation(doc) {
  const key = contentKey(doc);
  let answer = evaluations.get(key);
  if (answer) {
    evaluations.delete(key);                       // most recent last
  } else {
    answer = api("/api/v1/evaluate", { scenario: doc, hugepages_limit: HUGEPAGES_LISTED });
    answer.catch(() => evaluations.delete(key));   // refusals are asked again (and reported) next time
  }
  evaluations.set(key, answer);
  while (evaluations.size > EVALUATIONS) evaluations.delete(evaluations.keys().next().value);
  return { key, answer };
}

/** An evaluation the page was served with (app/routers/pages.py). */
export function seedEvaluation(doc, answer) { evaluations.set(contentKey(doc), Promise.resolve(answer)); }

const QUERIES = 40;                                // answers kept (a map window is 0.1-0.3 MB)
const answers = new Map();                         // path + body -> Promise of the answer

/** The engine's answer to one question, asked at most once while kept. Each caller gets its own copy:
 * the views draw what they get, and Plotly writes into the figures it draws. */
export function ask(path, body) {
  const key = `${path} ${JSON.stringify(body)}`;
  let answer = answers.get(key);
  if (answer) {
    answers.delete(key);                           // most recent last
  } else {
    answer = api(path, body);
    answer.catch(() => answers.delete(key));       // refusals and outages are asked again next time
  }
  answers.set(key, answer);
  while (answers.size > QUERIES) answers.delete(answers.keys().next().value);
  return answer.then((a) => structuredClone(a));
}

/** The machine's pfn range (or only its hot-plugged part), or null. */
export function machineRange(ev, hotOnly) {
  const r = hotOnly ? ev.pfn_ranges.hotplug : ev.pfn_ranges.all;
  return r ? { start: fromHex(r[0]), end: fromHex(r[1]) } : null;
}

/** The view kept inside the machine (another arch or boot size may have moved it). */
export function viewWithin(view, ev) {
  const all = machineRange(ev, false);
  return !view || !all || view.start >= all.end || view.end <= all.start ? machineRange(ev, true) || all : view;
}

/** The map's window: one bin per pixel column of the plot. */
export const windowQuery = (st, pixels) => ["/api/v1/window",
  { ...st.ref, start_pfn: st.view.start, end_pfn: st.view.end, bins: Math.min(4096, pixels), figure: "map" }];

/** The memory sections from the start of the view. */
export const sectionsQuery = (st) => ["/api/v1/sections", { ...st.ref, start_pfn: st.view?.start ?? 0, limit: 64 }];

/** The vmemmap of the selected block ("block:N") or huge page ("hp:0x..."), if it exists in this state;
 * else null, or the words saying it is gone. rows: the page-table rows shown. */
export function vmemmapQuery(st, rows) {
  const m = /^(block|hp):(.+)$/.exec(st.sel || "");
  if (!m) return { gone: "" };
  const target = m[1] === "block" ? { block: Number(m[2]) } : { head_pfn: m[2] };
  const there = m[1] === "block" ? st.ev.blocks.some((b) => b.id === target.block)
    : st.ev.hugepages.some((h) => h.head_pfn === target.head_pfn);
  if (!there) return { gone: `${m[1] === "block" ? `memory${m[2]}` : `huge page ${m[2]}`} does not exist at this step` };
  return { query: ["/api/v1/vmemmap", { ...st.ref, ...target, figure: true, limit: rows }] };
}

/** Fixed points of the boot memmap (the struct page of a memblock memmap page in that page itself): the
 * chain from the first page of each node's memblock memmap buffer ends in it, if there is one (/chain's
 * fixed_point). One question per node. */
export function bootChainQueries(st) {
  const firsts = new Map();
  for (const b of st.ev.blocks) {
    if (b.memmap.where !== "memblock" || b.memmap.start_pfn == null) continue;
    const f = fromHex(b.memmap.start_pfn);
    if (!firsts.has(b.node) || f < firsts.get(b.node)) firsts.set(b.node, f);
  }
  return [...firsts.values()].map((f) => ["/api/v1/chain", { ...st.ref, pfn: hex(f) }]);
}

/** Every question the views of a state ask (main.js apply draws from their answers). */
export function viewQueries(st, pixels, rows) {
  const vm = vmemmapQuery(st, rows).query;
  return [windowQuery(st, pixels), sectionsQuery(st), ...bootChainQueries(st), ...(vm ? [vm] : [])];
}
