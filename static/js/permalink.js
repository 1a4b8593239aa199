// The permalink: the state shown (saved document, step, view, selection, workspace) as a URL, and back.
import { api } from "./api.js";
import { DEFAULT_WS } from "./saved.js";
import { S } from "./state.js";
import { $, fromHex, hex } from "./util.js";

/** The URL of the state shown, in workspace ws. */
export function stateUrl(ws) {
  const q = new URLSearchParams(ws === DEFAULT_WS ? {} : { ws });
  if (S.id) q.set("s", S.id);
  if (S.step != null) q.set("step", String(S.step));
  if (S.view) q.set("v", `${hex(S.view.start)}-${hex(S.view.end)}`);
  if (S.sel) q.set("sel", S.sel);
  return `/?${q}`;
}

/** The address bar follows the state (not on a walkthrough step, whose own URL says it); returns the
 * full permalink. */
export function updatePermalink() {
  const path = stateUrl(S.ws);
  if (!(S.wt && !S.wt.offScript)) history.replaceState(null, "", path);
  return `${location.origin}${path}`;
}

/** The document, step, view and selection a permalink names (else the built-in scenario). */
export async function fromUrl() {
  const q = new URLSearchParams(location.search);
  let doc = JSON.parse($("#default-scenario").textContent);
  if (q.get("s")) doc = await api(`/api/v1/scenarios/${encodeURIComponent(q.get("s"))}`);
  if (q.get("step")) S.step = Number(q.get("step"));
  const v = /^(0x[0-9a-f]+)-(0x[0-9a-f]+)$/i.exec(q.get("v") || "");
  if (v) S.view = { start: fromHex(v[1]), end: fromHex(v[2]) };
  return { doc, sel: q.get("sel") };
}
