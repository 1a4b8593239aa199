// The saved-scenarios panel: the current workspace (carried in the URL as ?ws=), its list (pinned
// first), open, delete, pin and unpin (the trainer's; with a token when the server asks for one), and
// the control that shows and changes the workspace.
import { api } from "./api.js";
import { $, el } from "./util.js";

export const DEFAULT_WS = "default";
export const WS_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const WS_RULE = "a workspace name is 1 to 32 characters of a-z, 0-9 and '-', starting with a letter or a digit";
const TOKEN_KEY = "vmemscope.trainer-token";      // per tab (sessionStorage), never in a URL

/** The workspace of a URL's query (?ws=): {ws, error}; a bad name falls back to the default one. */
export function workspaceOf(search) {
  const ws = new URLSearchParams(search).get("ws");
  if (ws == null || ws === "") return { ws: DEFAULT_WS, error: null };
  return WS_RE.test(ws) ? { ws, error: null } : { ws: DEFAULT_WS, error: `workspace: ${WS_RULE}, not "${ws.slice(0, 40)}"` };
}

/** "?ws=class-a" (with a leading separator) for links, or "" for the default workspace. */
export const wsQuery = (ws, sep = "?") => (ws === DEFAULT_WS ? "" : `${sep}ws=${encodeURIComponent(ws)}`);

export const scenariosPath = (ws) => `/api/v1/workspaces/${encodeURIComponent(ws)}/scenarios`;

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

export class SavedPanel {
  /** ws: the workspace; current(): the id shown; doc(): the document shown (Save lists it); link(id): the
   * URL that opens a saved scenario; onSwitch(ws): open another workspace. */
  constructor(ws, { current, doc, link, onSwitch }) {
    Object.assign(this, { ws, current, link, onSwitch, seq: 0, tokenRequired: false, focus: null });
    $("#save-to-ws").addEventListener("click", async () => {      // every state is kept; a save lists it
      this.error("");
      try {
        await api(scenariosPath(this.ws), doc());
      } catch (e) {
        this.error(e.message);
      }
      await this.refresh();
    });
    $("#workspace").value = ws;
    $("#workspace-name").textContent = ws;
    $("#workspace-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const next = $("#workspace").value.trim();
      if (!WS_RE.test(next)) { this.error(`workspace: ${WS_RULE}, not "${next.slice(0, 40)}"`); return; }
      this.error("");
      if (next !== this.ws) onSwitch(next);
    });
    $("#trainer-form").addEventListener("submit", (e) => {
      e.preventDefault();
      try { sessionStorage.setItem(TOKEN_KEY, $("#trainer-token").value); } catch { /* storage off: ask each time */ }
      this.error("");
      this.refresh();
    });
  }

  error(text) { $('[data-error-for="saved"]').textContent = text; }

  /** Ask for the workspace's list again (after a save, a delete or a pin); older answers are dropped. */
  async refresh() {
    const seq = ++this.seq;
    try {
      const list = await api(`${scenariosPath(this.ws)}?limit=100`);
      if (seq !== this.seq) return;
      this.tokenRequired = list.trainer_token_required;
      this.render(list);
    } catch (e) {
      if (seq === this.seq) this.error(e.message);
    }
  }

  get canPin() { return !this.tokenRequired || token() !== ""; }

  render(list) {
    const box = $("#saved-list");
    $("#trainer").hidden = !this.tokenRequired;
    const shown = this.current();
    box.replaceChildren(...list.items.map((it) => this.item(it, it.id === shown)));
    const more = list.total > list.items.length ? ` (the first ${list.items.length} shown)` : "";
    $("#saved-count").textContent = list.total
      ? `${list.total} in workspace ${list.workspace}${more}` : `nothing saved in workspace ${list.workspace} yet`;
    box.dataset.ws = list.workspace;
    box.dataset.count = String(list.items.length);
    if (this.focus) this.refocus(this.focus);
    this.focus = null;
  }

  /** After a pin or a delete the list is drawn anew: the keyboard focus goes back to the same button,
   * or (its entry gone) to the entry now in its place, else to the workspace field. */
  refocus({ id, cls, index }) {
    const items = [...document.querySelectorAll("#saved-list li")];
    const same = items.find((li) => li.dataset.id === id);
    const target = same ? (same.querySelector(`button.${cls}`) || same.querySelector("a"))
      : (items[Math.min(index, items.length - 1)]?.querySelector("a") || $("#workspace"));
    target.focus();
  }

  item(it, isCurrent) {
    const when = new Date(it.added_at);
    const name = it.name || "untitled";
    const where = `workspace ${this.ws}`;
    const actions = [];
    if (this.canPin) {
      actions.push(el("button", { type: "button", class: "pin", "aria-pressed": String(it.pinned),
        "aria-label": `${it.pinned ? "Unpin" : "Pin"} ${name} (${it.id.slice(0, 8)}) in ${where}`,
        onclick: (e) => this.act(e, it.pinned ? "DELETE" : "PUT", `${it.id}/pin`) }, it.pinned ? "Unpin" : "Pin"));
    }
    if (!it.pinned) {
      actions.push(el("button", { type: "button", class: "delete",
        "aria-label": `Delete ${name} (${it.id.slice(0, 8)}) from ${where}`,
        onclick: (e) => this.act(e, "DELETE", it.id) }, "Delete"));
    }
    return el("li", { class: `saved-item${it.pinned ? " pinned" : ""}`, dataset: { id: it.id } },
      el("a", { href: this.link(it.id), "aria-current": isCurrent ? "true" : null }, name),
      it.pinned ? el("span", { class: "badge" }, "pinned") : null,
      el("span", { class: "muted saved-meta" }, el("time", { datetime: it.added_at }, when.toLocaleString()),
        ` \u00b7 ${it.id.slice(0, 8)}${isCurrent ? " \u00b7 shown" : ""}`),
      actions.length ? el("span", { class: "actions" }, actions) : null);
  }

  async act(e, method, path) {
    this.error("");
    const li = e.currentTarget.closest("li");
    if (document.activeElement === e.currentTarget) {
      this.focus = { id: li.dataset.id, cls: e.currentTarget.className, index: [...li.parentNode.children].indexOf(li) };
    }
    const t = token();
    try {
      await api(`${scenariosPath(this.ws)}/${path}`, undefined, { method, headers: t ? { "x-trainer-token": t } : {} });
    } catch (e) {
      this.error(e.message);
    }
    await this.refresh();
  }
}
