"""Plotly figures as plain dicts: one builder for the dashboard (sent as JSON) and for static export
(kaleido), so a picture in the docs is the picture in the browser.

map:     the physical memory map (app/map_figure.py): bands of frame roles, block and section edges,
         the fixed points called out; hover tells a bin's pages by role and its first pfn resolved.
vmemmap: a box-and-arrow diagram as Documentation/mm/vmemmap_dedup.rst draws them: HVO of a huge page
         (app/hvo_diagram.py), or the memmap of a memory block (app/memmap_diagram.py).
"""
from __future__ import annotations

from typing import Any

from engine import EvaluatedMachine

from .hvo_diagram import hvo_diagram
from .map_figure import MAX_FIGURE_BINS, PALETTE, map_figure, role_legend
from .memmap_diagram import MAX_SIDE_BY_SIDE, memmap_diagram

__all__ = ["PALETTE", "map_figure", "vmemmap_figure", "role_legend", "MAX_FIGURE_BINS"]


def _altmap_neighbours(m: EvaluatedMachine, block: int) -> tuple[list[int], int]:
    """The block and its contiguous neighbours that hold their own altmap (6.8+ per-block altmaps of one
    range), at most MAX_SIDE_BY_SIDE of them, and how many more there are."""
    bp = m.block_pages
    spans = m.block_spans(max(0, (block - 64) * bp), (block + 65) * bp)
    me = next((i for i, b in enumerate(spans) if b.id == block), None)
    if me is None or not spans[me].holds_altmap:
        return [block], 0
    lo = hi = me
    while lo > 0 and spans[lo - 1].holds_altmap and spans[lo - 1].end == spans[lo].start:
        lo -= 1
    while hi + 1 < len(spans) and spans[hi + 1].holds_altmap and spans[hi + 1].start == spans[hi].end:
        hi += 1
    first = min(me, max(lo, hi + 1 - MAX_SIDE_BY_SIDE))
    ids = [b.id for b in spans[first: min(hi + 1, first + MAX_SIDE_BY_SIDE)]]
    return ids, hi - lo + 1 - len(ids)


SHARING_SHOWN = 2      # huge pages drawn beside one whose tails map a frame shared with others


def _foreign(vm: dict[str, Any]) -> set[str]:
    """Frames the page's vmemmap maps that are none of its own frames nor its head copy (7.x: the
    zone's shared tail page)."""
    pages = vm["pages"]
    own = {p["original_pfn"] for p in pages} | {p["backing_pfn"] for p in pages if p["state"] == "head_copied"}
    return {p["backing_pfn"] for p in pages if p["backing_pfn"] and p["backing_pfn"] not in own}


def _sharing(m: EvaluatedMachine, vm: dict[str, Any], head: int) -> list[tuple[dict[str, Any], Any]]:
    """The next live huge pages that map one of this page's foreign frames, to draw the sharing."""
    shared = _foreign(vm)
    if not shared:
        return []
    out = []
    for h in m.hugepage_heads(head + 1, m.max_pfn, 8):
        other = m.vmemmap(head_pfn=h)
        if _foreign(other) & shared:
            out.append((other, m.hugepage(h)))
            if len(out) == SHARING_SHOWN:
                break
    return out


def vmemmap_figure(vm: dict[str, Any], m: EvaluatedMachine, title: str = "") -> dict[str, Any]:
    """The diagram of a vmemmap() answer: HVO of a huge page, or the memmap of a block (with its
    per-block-altmap neighbours side by side)."""
    t = vm["target"]
    kib = m.arch.page_size >> 10
    if t["kind"] == "hugepage":
        head = int(t["head_pfn"], 16)
        items = [(vm, m.hugepage(head))] + _sharing(m, vm, head)
        return hvo_diagram(items, m.kernel, m.arch.key, title=title, page_kib=kib, vmemmap_pmd=m.arch.vmemmap_pmd)
    ids, more = _altmap_neighbours(m, t["block"])
    vms = [vm if b == t["block"] else m.vmemmap(block=b) for b in ids]
    return memmap_diagram(vms, m.kernel, m.arch.key, title=title, more=more, page_kib=kib)
