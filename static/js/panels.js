// Side panels: summary, memory blocks (with their actions), huge pages, event log, page details, import facts.
import { $, count, el, human } from "./util.js";

export function renderSummary(t, ev) {
  const ps = { "4K": 4096, "16K": 16384, "64K": 65536 }[t.page_size] || 4096;
  const hazards = ev.blocks.flatMap((b) => b.hazards.map((h) => `memory${b.id}: ${h}`));
  const rows = [
    ["Kernel", `${t.kernel} on ${t.arch} (${t.page_size} pages)`],
    ["Memory block size", t.memory_block_size],
    ["vmemmap base", t.vmemmap_base],
    ["Blocks", `${t.blocks} (${t.blocks_online} online), ${t.sections} sections`],
    ["Present memory", `${human(t.present_pages * ps)} (${count(t.present_pages, "page")})`],
    ["Managed memory", `${human(t.managed_pages * ps)} (MemTotal ${t.mem_total_kb} kB)`],
    ["memmap overhead", `${human(t.memmap_bytes)} (${count(t.memmap_pages, "page")})`],
    ["Self-hosted pages", String(t.self_hosted_pages)],
    ["HugeTLB", `${human(t.hugetlb_pages * ps)} in ${Object.entries(t.hugepages)
      .map(([s, c]) => `${Object.values(c).reduce((a, b) => a + b, 0)} x ${s}`).join(", ") || "no pages"}`],
    ["HVO", t.hvo_enabled ? `on: ${human(t.hvo_freed_bytes)} freed (${count(t.hvo_freed_pages, "page")})` : "off"],
    ["Page tables for HVO", count(t.page_table_pages, "page")],
  ];
  const dl = $("#summary");
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  if (hazards.length) dl.append(el("dt", { class: "hazard" }, "HAZARD"), el("dd", { class: "hazard", id: "hazard" }, hazards.join("; ")));
}

export function renderBlocks(blocks, { onOp, onVmemmap, selected }) {
  // lsmem's columns and names (lsmem --output-all), then where the memmap is
  const cols = ["RANGE", "SIZE", "STATE", "REMOVABLE", "BLOCK", "NODE", "ZONES", "memmap", "self-mapping pfn", ""];
  const head = el("tr", {}, cols.map((h) => el("th", { scope: "col" }, h)));
  const boot = blocks.filter((b) => b.boot);
  const rows = blocks.filter((b) => !b.boot).map((b) => {
    const op = (o) => () => onOp({ ...o, start: b.start, size: b.size });
    const actions = el("td", { class: "actions" },
      b.state === "offline" ? [
        el("button", { type: "button", title: `online memory${b.id} to ZONE_NORMAL`, onclick: op({ op: "online", zone: "normal" }) }, "online"),
        el("button", { type: "button", title: `online memory${b.id} to ZONE_MOVABLE`, onclick: op({ op: "online", zone: "movable" }) }, "movable"),
        b.boot ? null : el("button", { type: "button", title: `remove memory${b.id}`, onclick: op({ op: "remove_memory" }) }, "remove"),
      ] : [el("button", { type: "button", title: `offline memory${b.id}`, onclick: op({ op: "offline" }) }, "offline")],
      el("button", { type: "button", title: `vmemmap of memory${b.id}`, onclick: () => onVmemmap({ block: b.id }) }, "vmemmap"));
    const mm = b.memmap;
    return el("tr", { class: selected === `block:${b.id}` ? "selected" : "", dataset: { block: b.id } },
      el("td", { class: "range" }, b.range), el("td", {}, b.size), el("td", {}, b.state),
      el("td", {}, b.removable ? "yes" : "no"), el("td", { title: b.name }, String(b.id)), el("td", {}, String(b.node)),
      el("td", {}, b.zones ?? "-"),
      el("td", { title: b.memmap_on_memory.reason }, `${mm.where} ${mm.start_pfn ?? ""} (${count(mm.nr_pages, "page")}, ${mm.mapping ?? "-"})`),
      el("td", { class: b.self_mapping_pfn ? "self-mapping-pfn" : "" }, b.self_mapping_pfn ?? ""),
      actions);
  });
  const bootRow = boot.length ? [el("tr", {}, el("td", { colspan: cols.length, class: "muted" },
    `${boot.length} boot blocks (memory${boot[0].id}-memory${boot[boot.length - 1].id}): memmap in the memblock buffer at ` +
    `${[...new Set(boot.map((b) => b.memmap.start_pfn))].slice(0, 2).join(", ")}${boot.length > 2 ? ", ..." : ""}`))] : [];
  $("#blocks").replaceChildren(head, ...bootRow, ...rows);
}

export function renderHugepages(hps, total, { onFree, onVmemmap, selected }) {
  const head = el("tr", {}, ["head pfn", "size", "block", "HVO", "reason", ""].map((h) => el("th", {}, h)));
  const rows = hps.map((h) => el("tr", { class: selected === `hp:${h.head_pfn}` ? "selected" : "", dataset: { head: h.head_pfn } },
    el("td", {}, h.head_pfn), el("td", {}, h.size), el("td", {}, h.block == null ? "" : `memory${h.block}`),
    el("td", { class: `hvo-${h.hvo}` }, h.hvo), el("td", { class: "reason" }, h.reason),
    el("td", { class: "actions" },
      el("button", { type: "button", title: `vmemmap of ${h.head_pfn}`, onclick: () => onVmemmap({ head_pfn: h.head_pfn }) }, "vmemmap"),
      el("button", { type: "button", title: `free ${h.head_pfn}`, onclick: () => onFree(h) }, "free"))));
  const more = total > hps.length ? [el("tr", {}, el("td", { colspan: 6 }, `... ${total - hps.length} more`))]
    : total === 0 ? [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "no huge pages at this step"))] : [];
  $("#hugepages").replaceChildren(head, ...rows, ...more);
}

export function renderEvents(events, step, nops) {
  const items = events.map((e) => el("li", { class: `outcome-${e.outcome}` }, el("b", {}, e.outcome), " ", e.message));
  $("#events").replaceChildren(...items);          // none: app.css says "the machine as booted"
  const slider = $("#step");
  slider.max = String(nops);
  slider.value = String(step);
  $("#step-out").value = `${step} / ${nops}`;
}

export function renderSections(res) {
  const head = el("tr", {}, ["SECTION", "PFN RANGE", "MEM_MAP", "BLOCK", "NODE", "FLAGS"].map((h) => el("th", { scope: "col" }, h)));
  const rows = res.sections.map((x) => el("tr", {},
    el("td", {}, String(x.section)), el("td", { class: "range" }, `${x.start_pfn}-${x.end_pfn}`), el("td", {}, x.mem_map ?? "-"),
    el("td", {}, `memory${x.block}`), el("td", {}, String(x.node)),
    el("td", { title: x.flag_bits }, x.flags.map((f) => f.replace("SECTION_", "")).join(" "))));
  const shown = res.sections.length;
  const more = res.total > res.offset + shown
    ? [el("tr", {}, el("td", { colspan: 6, class: "muted" }, `sections ${res.offset}-${res.offset + shown - 1} of ${res.total}`))] : [];
  $("#sections").replaceChildren(head, ...rows, ...more);
}

export function renderChain(res, page, notes = {}) {
  const items = res.chain.map((c) => el("li", { class: c.pfn === res.fixed_point ? "fixed" : "" },
    `pfn ${c.pfn} -> struct page ${c.struct_page_vaddr ?? "none"} -> pfn ${c.backing_pfn ?? "none"} (${c.role})`));
  const tail = res.fixed_point
    ? el("p", { class: "fixed" }, `fixed point: the struct page of pfn ${res.fixed_point} lives in pfn ${res.fixed_point}`)
    : el("p", {}, "no fixed point: the chain ends in memory that is not self-hosted");
  const last = res.chain[res.chain.length - 1];
  const kind = res.fixed_point && { memmap_boot: "boot", memmap_self: "self_hosted" }[last.role];
  const why = kind && notes[kind] ? [el("p", { id: "fixed-point-why", class: "muted" }, `Why it matters: ${notes[kind]}.`)] : [];
  const flags = page ? [el("p", { id: "kpageflags" }, `/proc/kpageflags of pfn ${page.pfn}: ${page.kpageflags}` +
    ` (${page.kpageflags_names.join(" ") || "no flag the model knows"})`)] : [];
  $("#chain").replaceChildren(el("h3", {}, "whose struct page is stored where"), el("ol", {}, items), tail, ...why, ...flags);
}

/** What an import (lsmem --json, a collected snapshot) observed, inferred and noted (POST /api/v1/import). */
export function renderImport(imp) {
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
