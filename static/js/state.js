// The one scenario state every view is derived from (main.js apply), and what the view modules share
// about it: the step shown, errors beside their control, the state each view was drawn for.
import { ApiError } from "./api.js";
import { DEFAULT_WS } from "./saved.js";
import { parseSize } from "./util.js";

export const S = {
  presets: null, history: null, step: null, view: null, sel: null, chainPfn: null, wt: null, bootFixed: [], bootReady: null,
  id: null, ref: null, ev: null, key: null, content: null, saving: null, mapSeq: 0, renders: 0,
  ws: DEFAULT_WS,            // the workspace whose list saves go to (?ws= in the URL and in permalinks)
};
// what tests and the browser benchmark read (no polling of private state)
window.vmemscope = { state: S, renders: 0, map: null };

export const totalOps = () => S.history.doc.ops.length;
export const currentStep = () => (S.step == null ? totalOps() : S.step);
export const pageSize = () => parseSize(S.ev.totals.page_size);

export function clearErrors() { document.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; }); }

/** An error shown beside the control it is about (data-error-for), else beside the scenario. */
export function showError(where, err) {
  const p = document.querySelector(`[data-error-for="${where}"]`) || document.querySelector('[data-error-for="scenario"]');
  p.textContent = err instanceof ApiError ? err.message : String(err.message || err);
}

/** Mark views with the state they show (data-state: the document's content and the step). */
export function stamp(...sels) { sels.forEach((s) => { document.querySelector(s).dataset.state = S.key; }); }
