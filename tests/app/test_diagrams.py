"""The box-and-arrow diagrams (app/hvo_diagram.py, app/memmap_diagram.py), read back from the figure
object: which boxes, which arrows, which frames are kept, new, shared or freed, per kernel release.
Expectations come from the kernel's behaviour (Documentation/mm/vmemmap_dedup.rst; kernel-model.md
TV-1, TV-4, TV-6, TV-7, TV-10), the frame numbers from the engine's vmemmap() answer being drawn."""
from __future__ import annotations

import engine
import pytest
from app.figures import vmemmap_figure
from app.hvo_diagram import hvo_diagram
from engine.presets import DEFAULT_SCENARIO


def boot_2m(kernel: str, hvo: bool = True) -> engine.EvaluatedMachine:
    """Two 2 MiB pages in one vmemmap PMD (TV-7) and a 1 GiB page, in boot memory."""
    return engine.evaluate({"kernel": kernel, "params": {"hugetlb_free_vmemmap": hvo},
                            "boot_memory": [{"start": "0x0", "size": "4G"}],
                            "ops": [{"op": "alloc_hugepage", "size": "2M", "at": "0x40000000"},
                                    {"op": "alloc_hugepage", "size": "2M", "at": "0x40200000"},
                                    {"op": "alloc_hugepage", "size": "1G", "at": "0x80000000"}]})


def names(fig, prefix: str) -> list[str]:
    """Names of the shapes and annotations starting with prefix (box labels left out)."""
    items = fig["layout"]["shapes"] + fig["layout"]["annotations"]
    return [i["name"] for i in items if i.get("name", "").startswith(prefix) and not i["name"].endswith(":label")]


def arrows_into(fig, pfn: str) -> list[dict]:
    """The arrows (path shapes, app/diagram_kit.py) that end in the frame box of pfn."""
    return [a for a in fig["layout"]["shapes"] if a["type"] == "path" and a["name"].endswith((f"->{pfn}:ro", f"->{pfn}:rw"))]


def hvo_of(m, head: int):
    vm = m.vmemmap(head_pfn=head)
    return vm, vmemmap_figure(vm, m)


def originals(vm) -> list[str]:
    return [p["original_pfn"] for p in vm["pages"]]


def test_5_17_keeps_two_vmemmap_pages_and_frees_six():
    vm, f = hvo_of(boot_2m("5.17"), 0x40000)
    orig = originals(vm)
    assert len(names(f, "vmemmap:")) == 8 and len(names(f, "vmemmap-before:")) == 8      # 8 boxes per side
    assert len(names(f, "frame-before:")) == 8
    assert names(f, "frame:") == [f"frame:{orig[0]}:kept", f"frame:{orig[1]}:kept"]     # 2 kept (<= 5.17)
    assert names(f, "freed:") == [f"freed:{o}" for o in orig[2:]]                        # 6 freed
    assert len(arrows_into(f, orig[0])) == 1 and len(arrows_into(f, orig[1])) == 7     # head; 2nd + 6 tails
    assert sum(a["name"].endswith(":ro") for a in arrows_into(f, orig[1])) == 6


def test_6_1_remaps_the_seven_tails_onto_the_head_frame():
    vm, f = hvo_of(boot_2m("6.1"), 0x40000)
    orig = originals(vm)
    assert names(f, "frame:") == [f"frame:{orig[0]}:kept"]
    into = arrows_into(f, orig[0])
    assert len(into) == 8 and sum(a["name"].endswith(":ro") for a in into) == 7
    assert names(f, "freed:") == [f"freed:{o}" for o in orig[1:]]                        # 7 freed (TV-6)
    assert "head vmemmap page kept" in f["layout"]["annotations"][1]["text"]
    assert "Linux 6.1" in f["layout"]["annotations"][1]["text"]


def test_6_12_copies_the_head_to_a_new_frame_and_frees_all_eight():
    vm, f = hvo_of(boot_2m("6.12"), 0x40000)
    orig = originals(vm)
    new = vm["pages"][0]["backing_pfn"]
    assert new not in orig
    assert names(f, "frame:") == [f"frame:{new}:new"]                                   # the copy, a new frame
    assert len(arrows_into(f, new)) == 8
    assert names(f, "freed:") == [f"freed:{o}" for o in orig]                            # all 8 originals freed
    assert f["layout"]["meta"]["frames"][new] == "new"


def test_the_pmd_split_costs_one_page_table_page_once_per_pmd():
    m = boot_2m("6.12")
    _, first = hvo_of(m, 0x40000)
    _, second = hvo_of(m, 0x40200)                     # TV-7: same vmemmap PMD, already split
    assert names(first, "pte-table:") == ["pte-table:0x40000:1"]
    assert names(second, "pte-table:") == ["pte-table:0x40200:0"]
    assert names(first, "pmd:") == ["pmd:0x40000"]


def test_a_1g_page_is_drawn_as_runs_not_4096_boxes():
    vm, f = hvo_of(boot_2m("6.1"), 0x80000)
    assert len(vm["pages"]) == 4096
    assert len(names(f, "vmemmap:")) == 2                                               # head, 4095 tails
    assert len(names(f, "freed:")) == 1
    freed_label = next(a["text"] for a in f["layout"]["annotations"] if a["name"].startswith("freed:") and
                       a["name"].endswith(":label"))
    o = originals(vm)
    assert f"{o[1]}-{o[-1]}" in freed_label                                             # 4095 frames freed


def test_refused_keeps_the_pmd_and_names_the_reason():
    m = engine.evaluate(DEFAULT_SCENARIO)
    vm, f = hvo_of(m, 0x100200)                        # TV-4: in memory32's self-hosted memmap
    assert [p["original_pfn"] for p in vm["pages"]] == [hex(0x100008 + k) for k in range(8)]
    assert names(f, "frame:") == [] and names(f, "freed:") == [] and names(f, "pte-table:") == []
    assert names(f, "refused") == ["refused"]
    assert len(names(f, "frame-before:")) == 8
    footer = " ".join(a["text"] for a in f["layout"]["annotations"] if a["name"] == "footer")
    assert "PMD intact" in footer and vm["target"]["reason"][:30] in footer


def synthetic(head: int, shared: int, frames: int) -> dict:
    """A huge page whose 7 tail vmemmap pages map one frame that is none of its own (7.x shape)."""
    pages = [{"index": k, "vaddr": hex(0xffffea0000000000 + (head * 64) + k * 4096),
              "first_pfn": hex(head + 64 * k), "last_pfn": hex(head + 64 * k + 63),
              "backing_pfn": hex(frames if k == 0 else shared), "original_pfn": hex(frames + k), "mapping": "pte",
              "self_hosted": False, "freed": k > 0, "state": "head" if k == 0 else "remapped_ro"}
             for k in range(8)]
    return {"target": {"kind": "hugepage", "head_pfn": hex(head), "size": "2M", "hvo": "optimized",
                       "reason": "", "freed_pages": 7}, "pages": pages}


def test_a_frame_shared_by_several_huge_pages_is_drawn_once_with_every_arrow():
    a, b = synthetic(0x40000, 0x7000, 0x1000), synthetic(0x40200, 0x7000, 0x2000)
    f = hvo_diagram([(a, {"pmd_splits": 1}), (b, {"pmd_splits": 0})], "7.3", "x86_64-4K-L4")
    assert names(f, "frame:0x7000") == ["frame:0x7000:shared"]
    into = arrows_into(f, "0x7000")
    assert len(into) == 14 and all(x["name"].endswith(":ro") for x in into)
    users = next(x["text"] for x in f["layout"]["annotations"] if x["name"] == "frame-users:0x7000")
    assert users == "mapped by 14 vmemmap pages of 2 huge pages"
    assert sorted(names(f, "frame:")) == ["frame:0x1000:kept", "frame:0x2000:kept", "frame:0x7000:shared"]
    assert "shared tail page" in f["layout"]["annotations"][1]["text"]



def path_points(path: str) -> list[list[tuple[float, float]]]:
    """An SVG path of M/L/Z commands as its subpaths' points."""
    import re
    subs = []
    for cmd, x, y in re.findall(r"([ML])(-?[\d.]+),(-?[\d.]+)", path):
        if cmd == "M":
            subs.append([])
        subs[-1].append((float(x), float(y)))
    return subs


def test_every_arrow_ends_on_the_left_edge_of_its_frame_box():
    """Arrows are path shapes: the shaft leaves the vmemmap box's right edge, the head's tip touches the
    left edge of the frame box it names, inside its height, and the head is a closed triangle."""
    a, b = synthetic(0x40000, 0x7000, 0x1000), synthetic(0x40200, 0x7000, 0x2000)
    f = hvo_diagram([(a, {"pmd_splits": 1}), (b, {"pmd_splits": 0})], "7.3", "x86_64-4K-L4")
    boxes = {s["name"].split(":")[1]: s for s in f["layout"]["shapes"] if s["name"].startswith("frame:")}
    starts = {s["x1"] for s in f["layout"]["shapes"] if s["name"].startswith("vmemmap:")}
    arrows = [s for s in f["layout"]["shapes"] if s["name"].startswith("map:")]
    assert len(arrows) == 16
    for arrow in arrows:
        shaft, head = path_points(arrow["path"])
        box = boxes[arrow["name"].split("->")[1].split(":")[0]]
        tip = head[0]
        assert shaft[0][0] in starts and tip[0] == box["x0"] and box["y0"] < tip[1] < box["y1"], arrow
        assert len(head) == 3 and arrow["path"].endswith("Z") and arrow["fillcolor"] == arrow["line"]["color"]
        assert shaft[1][0] < tip[0]                                   # the shaft stops where the head begins

# ---------------------------------------------------------------- the memmap of a block
def dimm(kernel: str) -> engine.EvaluatedMachine:
    """TV-10: a 1 GiB ACPI DIMM, 128 MiB blocks, memmap_on_memory."""
    return engine.evaluate({"kernel": kernel, "params": {"memmap_on_memory": "on"},
                            "boot_memory": [{"start": "0x0", "size": "4G"}],
                            "ops": [{"op": "add_memory", "start": "0x100000000", "size": "1G", "memmap_on_memory": True},
                                    {"op": "online", "start": "0x100000000", "size": "1G", "zone": "movable"}]})


def test_self_hosted_block_draws_the_loop():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = vmemmap_figure(m.vmemmap(block=32), m)
    meta = f["layout"]["meta"]["blocks"]
    assert [b["block"] for b in meta] == ["memory32"] and meta[0]["loop"]
    assert meta[0]["memmap_runs"] == [["0x100000", "0x1001ff"]]                         # TV-1
    assert names(f, "pfn_to_page:") == ["pfn_to_page:0x100000"] and names(f, "stored-in:") == ["stored-in:0x100000"]
    texts = [a["text"] for a in f["layout"]["annotations"]]
    assert "<b>struct page of pfn 0x100000 lives in pfn 0x100000</b>" in texts
    assert "memmap: pfns 0x100000-0x1001ff (512 pages)" in texts


def test_block_with_memmap_from_buddy_has_no_loop():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = vmemmap_figure(m.vmemmap(block=33), m)
    meta = f["layout"]["meta"]["blocks"]
    assert [b["block"] for b in meta] == ["memory33"] and not meta[0]["loop"]
    assert names(f, "elsewhere:") and not names(f, "pfn_to_page:")
    assert any(a["name"] == "noloop:0x108000" for a in f["layout"]["annotations"])


def test_6_8_per_block_altmaps_side_by_side():
    m = dimm("6.8")
    f = vmemmap_figure(m.vmemmap(block=33), m)
    meta = f["layout"]["meta"]["blocks"]
    assert [b["block"] for b in meta] == ["memory33", "memory34", "memory35"]
    assert all(b["loop"] for b in meta)
    assert [b["memmap_runs"][0][0] for b in meta] == ["0x108000", "0x110000", "0x118000"]   # TV-10
    assert any(a["name"] == "more" and "5 more blocks" in a["text"] for a in f["layout"]["annotations"])


def test_before_6_8_a_multi_block_range_takes_its_memmap_from_buddy():
    m = dimm("6.6")
    f = vmemmap_figure(m.vmemmap(block=33), m)
    meta = f["layout"]["meta"]["blocks"]
    assert [b["block"] for b in meta] == ["memory33"] and not meta[0]["loop"]


@pytest.mark.parametrize("kernel", ["5.17", "6.1", "6.12"])
def test_diagrams_are_text_labelled_not_colour_only(kernel):
    _, f = hvo_of(boot_2m(kernel), 0x40000)
    labelled = {a["name"][:-len(":label")] for a in f["layout"]["annotations"] if a["name"].endswith(":label")}
    boxes = [s["name"] for s in f["layout"]["shapes"] if s["type"] == "rect"]
    assert boxes and all(b in labelled for b in boxes)                                   # every box says what it is


class SyntheticMachine:
    """The public methods vmemmap_figure reads, over synthetic huge pages (the 7.x layout the engine does
    not model yet): every page's 7 tails map the zone's shared tail page 0x7000."""

    kernel = "7.3"

    class arch:  # noqa: N801 - mirrors EvaluatedMachine.arch
        key, page_size, vmemmap_pmd = "x86_64-4K-L4", 4096, True

    max_pfn = 1 << 40

    def __init__(self, heads: list[int]) -> None:
        self.pages = {h: synthetic(h, 0x7000, 0x1000 + 16 * k) for k, h in enumerate(heads)}

    def vmemmap(self, head_pfn: int) -> dict:
        return self.pages[head_pfn]

    def hugepage(self, head: int) -> dict:
        return {"pmd_splits": 0}

    def hugepage_heads(self, lo: int, hi: int, limit: int) -> list[int]:
        return [h for h in sorted(self.pages) if lo <= h < hi][:limit]


def test_a_page_whose_tails_map_a_shared_frame_is_drawn_with_the_pages_sharing_it():
    m = SyntheticMachine([0x40000, 0x40200, 0x40400, 0x40600])
    f = vmemmap_figure(m.vmemmap(0x40000), m)
    assert names(f, "hugepage:") == ["hugepage:0x40000", "hugepage:0x40200", "hugepage:0x40400"]  # 1 + 2 sharing
    assert names(f, "frame:0x7000") == ["frame:0x7000:shared"]
    assert len(arrows_into(f, "0x7000")) == 21


@pytest.mark.parametrize("kernel", ["5.17", "6.1", "6.12"])
def test_up_to_6_x_no_frame_is_shared_between_huge_pages(kernel):
    _, f = hvo_of(boot_2m(kernel), 0x40000)
    assert names(f, "hugepage:") == [] and names(f, "frame:") != []
    assert not any(n.endswith(":shared") for n in names(f, "frame:"))


def test_arm64_16k_vmemmap_is_pte_mapped_from_the_start():
    """arm64 16K/64K map the vmemmap with PTEs only (A64-MMU): nothing to split, no PMD in the picture."""
    m = engine.evaluate({"kernel": "6.1", "machine": {"arch": "arm64", "page_size": "16K"},
                         "params": {"hugetlb_free_vmemmap": True},
                         "boot_memory": [{"start": "0x40000000", "size": "8G"}],
                         "ops": [{"op": "alloc_hugepages", "size": "32M", "count": 1}]})
    head = m.hugepage_heads(0, m.max_pfn, 1)[0]
    vm, f = hvo_of(m, head)
    assert names(f, "pte-table:") == [f"pte-table:{head:#x}:0"]
    texts = " ".join(a["text"] for a in f["layout"]["annotations"])
    assert "PTE-mapped from the start" in texts and "split by a neighbour" not in texts
    assert "7 vmemmap frames freed (112 KiB)" in texts                    # TV-16: 16K, 32M -> 7


@pytest.mark.parametrize("kernel", ["5.17", "6.1", "6.12"])
def test_no_frame_is_foreign_up_to_6_x(kernel):
    """Only a frame none of the page's own (originals or head copy) sends the figure looking for sharers."""
    from app.figures import _foreign
    m = boot_2m(kernel)
    assert _foreign(m.vmemmap(head_pfn=0x40000)) == set()


def test_7_3_tails_of_every_page_map_the_zones_shared_tail_page():
    """Linux 7.1+ (the engine's model, not a synthetic page list): page 0 of each huge page gets its own new
    frame, pages 1..7 of both map one shared tail frame, drawn once with all 14 arrows; all 8 originals freed."""
    m = boot_2m("7.3")
    vm, f = hvo_of(m, 0x40000)
    shared = vm["target"]["tail_pfn"]
    assert vm["target"]["tails_shared"] and shared not in originals(vm)
    assert {p["backing_pfn"] for p in vm["pages"][1:]} == {shared}
    assert names(f, f"frame:{shared}") == [f"frame:{shared}:shared"]
    assert names(f, "hugepage:") == ["hugepage:0x40000", "hugepage:0x40200"]
    assert len(arrows_into(f, shared)) == 14
    assert {f"freed:{o}" for o in originals(vm)} <= set(names(f, "freed:"))       # its 8 originals (and the other's)
    assert len(names(f, "freed:")) == 16
    assert m.summary()["hvo_shared_tails"][0]["pfn"] == shared
