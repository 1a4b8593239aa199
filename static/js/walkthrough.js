// Walkthrough mode: the narrative beside the picture, progress, previous/next deep links, and
// "try it yourself" (leave the script, keep the state) with a way back to the step.
import { api } from "./api.js";
import { $, el } from "./util.js";

/** The step's narrative, rendered and sanitised on the server (CommonMark, raw HTML escaped:
 * app/walkthroughs/markdown.py), as nodes. */
export function narrative(html) {
  const t = document.createElement("template");
  t.innerHTML = html;
  return t.content;
}

/** /walkthroughs/<slug>/<step> -> {slug, step} (step counts from 1), else null. */
export function parseWalkthroughPath(path) {
  const m = /^\/walkthroughs\/([a-z0-9-]+)\/([0-9]+)\/?$/.exec(path);
  return m ? { slug: m[1], step: Number(m[2]) } : null;
}

const loaded = new Map();

/** A walkthrough the page was served with (app/routers/pages.py): not fetched again. */
export function seedWalkthrough(wt) { loaded.set(wt.slug, Promise.resolve(wt)); }

/** A walkthrough with all its steps, fetched once per page. */
export async function loadWalkthrough(slug) {
  if (!loaded.has(slug)) loaded.set(slug, api(`/api/v1/walkthroughs/${encodeURIComponent(slug)}`));
  try {
    return await loaded.get(slug);
  } catch (e) {
    loaded.delete(slug);
    throw e;
  }
}

export function renderWalkthrough(wt, k, { onTry, onBack, onGo, query = "" }) {
  const step = wt.steps[k - 1];
  const n = wt.steps.length;
  const card = $("#walkthrough");
  card.hidden = false;
  document.body.classList.add("walkthrough-mode");
  const link = (i, label, rel) => (i >= 1 && i <= n
    ? el("a", { href: `/walkthroughs/${wt.slug}/${i}${query}`, rel, class: "button", id: rel === "prev" ? "wt-prev" : "wt-next",
                onclick: (e) => { if (!(e.ctrlKey || e.metaKey || e.shiftKey)) { e.preventDefault(); onGo(i); } } }, label)
    : el("span", { class: "button disabled", "aria-disabled": "true" }, label));
  card.replaceChildren(
    el("p", { class: "muted" }, `Walkthrough: ${wt.title}`),
    el("h2", { id: "wt-title" }, `${k}. ${step.title}`),
    el("div", { class: "wt-progress" },
      el("progress", { id: "wt-progress", max: n, value: k, "aria-label": "walkthrough progress" }),
      el("span", { id: "wt-count" }, `Step ${k} of ${n}`)),
    el("div", { id: "wt-narrative", class: "narrative" }, narrative(step.narrative_html)),
    el("details", {}, el("summary", {}, "What this step claims (checked against the engine)"),
      el("ul", { id: "wt-claims" }, step.claims.map((c) => el("li", { class: "mono" }, c)))),
    el("nav", { class: "wt-nav", "aria-label": "walkthrough steps" },
      link(k - 1, "\u2190 Previous", "prev"), link(k + 1, "Next \u2192", "next"),
      el("button", { type: "button", id: "wt-try", onclick: onTry }, "Try it yourself"),
      el("button", { type: "button", id: "wt-back", hidden: true, onclick: onBack }, `Back to step ${k}`)));
}

export function setOffScript(off) {
  $("#wt-try").hidden = off;
  $("#wt-back").hidden = !off;
  document.body.classList.toggle("off-script", off);
  $("#controls-fieldset").disabled = !off;
}
