// The "Machine and kernel" form and the defaults of the hot-add and huge-page forms, against a scenario
// document: the form shows a document's fields, and an Apply edits only the fields whose control changed
// (multi-range and multi-node boot memory survive every control).
import { $, clone, formatSize, fromHex, hex, parseSize } from "./util.js";

const DEFAULT_BOOT = [{ start: "0x0", size: "4G", node: 0 }];
const memstartOf = (machine) => (machine?.arch === "arm64" ? machine.memstart ?? "0x40000000" : "0x0");

/** The preset (GET /api/v1/presets: arch, page size, paging levels) a document's machine is. */
function presetKey(m, presets) {
  const ps = formatSize(parseSize(m.page_size ?? "4K"));
  const p = presets.machines.find((x) => x.arch === (m.arch ?? "x86_64") && x.page_size === ps &&
    (x.arch !== "x86_64" || x.paging_levels === (m.paging_levels ?? 4)));
  return p ? p.key : presets.machines[0].key;
}

/** What the machine form shows for a document (fillControls writes these, machineEdits compares). */
function machineFields(doc, presets) {
  const params = { memmap_on_memory: "on", hugetlb_free_vmemmap: true, selfhosted_check: "merged", ...doc.params };
  const boot = doc.boot_memory || DEFAULT_BOOT;
  return { preset: presetKey(doc.machine || {}, presets), kernel: doc.kernel ?? "6.8", mmo: params.memmap_on_memory,
           hvo: params.hugetlb_free_vmemmap, policy: params.selfhosted_check, ranges: boot.length,
           nodes: new Set(boot.map((r) => r.node ?? 0)).size,
           boot: formatSize(boot.map((r) => parseSize(r.size)).reduce((a, b) => a + b, 0)) };
}

/** The options of the machine and kernel selects. */
export function fillPresets(presets) {
  $("#machine-preset").replaceChildren(...presets.machines.map((m) => Object.assign(document.createElement("option"),
    { value: m.key, textContent: `${m.key} (${m.page_size} pages${m.arch === "x86_64" ? `, ${m.paging_levels}-level` : ""})` })));
  $("#kernel").replaceChildren(...presets.kernels.map((k) => Object.assign(document.createElement("option"), { value: k, textContent: k })));
}

/** The document with only the fields whose control the user changed, and whether it is another
 * machine (another architecture: a new scenario, same memory); null if nothing changed. */
export function machineEdits(old, presets) {
  const shown = machineFields(old, presets), doc = clone(old);
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
  const p = presets.machines.find((x) => x.key === $("#machine-preset").value);
  const moved = p.key !== shown.preset;
  if (moved) {
    doc.machine = { ...(doc.machine || {}), arch: p.arch, page_size: p.page_size, paging_levels: p.paging_levels,
                    memstart: p.arch === "arm64" ? (doc.machine?.memstart ?? "0x40000000") : null };
    const shift = fromHex(memstartOf(doc.machine)) - fromHex(memstartOf(old.machine));
    doc.boot_memory = (old.boot_memory || DEFAULT_BOOT).map((r) => ({ ...r, start: hex(fromHex(r.start ?? "0x0") + shift) }));
    doc.ops = [];
    doc.name = `${(old.name || "untitled").replace(/ \(on [^)]*\)$/, "")} (on ${p.key})`;
    changed = true;
  }
  return changed ? { doc, moved } : null;
}

/** The forms for a document and its evaluation: its machine fields, the next free block-aligned
 * address and one block to hot-add, the huge page sizes of its architecture. */
export function fillControls(doc, ev, presets) {
  const f = machineFields(doc, presets);
  $("#machine-preset").value = f.preset;
  $("#kernel").value = f.kernel;
  $("#mmo").value = f.mmo;
  $("#hvo").checked = f.hvo;
  $("#policy").value = f.policy;
  $("#boot-size").value = f.boot;
  // several ranges (an imported machine) are edited in the JSON, not squashed into one by this field
  $("#boot-size").readOnly = f.ranges > 1;
  $("#boot-note").textContent = f.ranges > 1 ? `${f.ranges} ranges on ${f.nodes} node${f.nodes > 1 ? "s" : ""}: kept as imported` : "";
  const bsz = parseSize(ev.totals.memory_block_size);
  const top = fromHex(ev.pfn_ranges.all[1]) * parseSize(ev.totals.page_size);
  $("#add-start").value = hex(Math.ceil(top / bsz) * bsz);
  $("#add-size").value = ev.totals.memory_block_size;
  const sizes = presets.machines.find((x) => x.key === f.preset).hugetlb_sizes;
  const cur = $("#huge-size").value;
  $("#huge-size").replaceChildren(...sizes.map((s) => Object.assign(document.createElement("option"), { value: s, textContent: s })));
  $("#huge-size").value = sizes.includes(cur) ? cur : (sizes.includes("2M") ? "2M" : sizes[0]);
}
