// The vmemmap view of a memory block or huge page: the server's figure plus the page table.
import { diagramSvg } from "./diagram.js";
import { $, el } from "./util.js";

/** Rows of the page table shown (asked for as the answer's `limit`; a 1 GiB huge page has 4,096). */
export const VMEMMAP_ROWS = 256;

export function renderVmemmap(res) {
  const t = res.target;
  $("#vmemmap-title").textContent = t.kind === "block"
    ? `of ${t.name} (${t.start_pfn}-${t.end_pfn})` : `of the ${t.size} huge page ${t.head_pfn}`;
  $("#vmemmap-reason").textContent = t.kind === "hugepage" ? `HVO ${t.hvo}: ${t.reason}` : `memmap: ${t.memmap_where}`;
  // The figure is a box-and-arrow diagram laid out at a fixed width (app/hvo_diagram.py, memmap_diagram.py),
  // drawn as SVG that shrinks as a whole to the panel rather than squash its boxes under their labels.
  $("#vmemmap-plot").replaceChildren(diagramSvg(res.figure));
  $("#vmemmap-size").hidden = false;
  const head = el("tr", {}, ["#", "vmemmap address", "struct pages of pfns", "backing pfn", "mapping", "state"]
    .map((h) => el("th", {}, h)));
  const rows = res.pages.slice(0, VMEMMAP_ROWS).map((p) => el("tr", {},
    el("td", {}, p.index), el("td", {}, p.vaddr), el("td", {}, `${p.first_pfn}-${p.last_pfn}`),
    el("td", {}, (p.backing_pfn ?? "none") + (p.self_hosted ? " (self-hosted)" : "")),
    el("td", {}, p.mapping ?? "-"),
    el("td", {}, p.state + (p.freed ? `, was ${p.original_pfn} (freed)` : ""))));
  const left = res.pages_total - rows.length;
  const more = left > 0 ? [el("tr", {}, el("td", { colspan: 6 }, `... ${left} more`))] : [];
  $("#vmemmap-table").replaceChildren(head, ...rows, ...more);
}

/** "Actual size": the diagram at its own width (its 11-12 px text readable on a projector), scrolled
 * sideways in the card, and reachable by keyboard while it scrolls; pressed again, shrunk to the card. */
export function bindDiagramSize() {
  const button = $("#vmemmap-size"), plot = $("#vmemmap-plot");
  button.addEventListener("click", () => {
    const actual = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(actual));
    plot.classList.toggle("actual", actual);
    if (actual) plot.tabIndex = 0; else plot.removeAttribute("tabindex");
  });
}
