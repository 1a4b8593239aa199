"""HugeTLB pools per size and node: allocate by count or at an address, free, dissolve.

Models the parts of mm/hugetlb.c that matter here: alloc_pool_huge_folio (__GFP_THISNODE,
gigantic pages through alloc_contig_pages, never from ZONE_MOVABLE), and freeing a page back to
the buddy allocator, which must restore its vmemmap first (and can fail).
"""
from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from . import hvo
from .buddy import GFP_KERNEL_ZONES, GFP_MOVABLE_ZONES

if TYPE_CHECKING:
    from .machine import Machine

__all__ = ["HugePages"]

COLUMNS = ("head", "order", "node", "state", "reason", "detail", "v0", "tail", "nkeep", "freed",
           "splits", "alive")


class HugePages:
    """Every HugeTLB page ever allocated, as parallel columns (O(pages), never O(pfns))."""

    def __init__(self, m: "Machine") -> None:
        self.m = m
        for c in COLUMNS:
            setattr(self, c, array("q"))
        self.nr_alive = 0

    def __len__(self) -> int:
        return len(self.head)

    def _append(self, head: int, order: int, node: int) -> int:
        i = len(self.head)
        for c, v in zip(COLUMNS, (head, order, node, 0, 0, 0, -1, -1, 0, 0, 0, 1)):
            getattr(self, c).append(v)
        self.nr_alive += 1
        return i

    def zones_for(self, order: int) -> tuple[str, ...]:
        # hugepage_movable_supported(): gigantic pages never come from ZONE_MOVABLE
        return self.m.buddy.zonelist(GFP_KERNEL_ZONES if order > self.m.arch.max_page_order
                                     else GFP_MOVABLE_ZONES)

    def _prepare(self, i: int) -> None:
        m = self.m
        m.budget.tick()
        state, reason, detail = hvo.check_hvo(m, self.head[i], self.order[i])
        self.state[i], self.reason[i], self.detail[i] = state, reason, detail
        if state == hvo.OPTIMIZED:
            hvo.optimize(m, i)

    def alloc_count(self, node: int, order: int, count: int) -> tuple[int, int]:
        """Grow the pool on one node by up to count pages (as many as fit).

        Returns (allocated, optimised). Like 6.7+ hugetlb_vmemmap_optimize_folios(), the batch is
        allocated first and optimised afterwards. The loops are the implementation's (m.core).
        """
        return self.m.core.alloc_hugepages(self, node, order, count)

    def alloc_at(self, head: int, order: int) -> int | str:
        """alloc_contig_range() at a fixed place; returns the index or why not."""
        m, nr = self.m, 1 << order
        b = m.block_of(head)
        if b is None or b.state != "online":
            return f"pfn {hex(head)} is not in online memory"
        for (node, zone), fl in m.buddy.lists.items():
            if fl.is_free(head, head + nr):
                if zone not in self.zones_for(order):
                    why = "gigantic pages are not movable" if zone == "Movable" else "kept for DMA"
                    return f"pfns {hex(head)}-{hex(head + nr - 1)} are in ZONE_{zone.upper()} ({why})"
                fl.take(head, head + nr)
                m.core.add_hugepage_run(self, range(head, head + nr, nr), order, node)
                return len(self.head) - 1
        busy = m.first_busy(head, head + nr)
        return f"pfns {hex(head)}-{hex(head + nr - 1)} are not all free ({busy})"

    def find(self, head: int) -> int:
        """Index of the live page with this head pfn, or -1."""
        start = 0
        while True:
            try:
                i = self.head.index(head, start)
            except ValueError:
                return -1
            if self.alive[i]:
                return i
            start = i + 1

    def free(self, i: int) -> str | None:
        """update_and_free_hugetlb_folio(): restore the vmemmap, then give the frames to buddy."""
        m = self.m
        m.budget.tick()
        if self.state[i] == hvo.OPTIMIZED:
            err = hvo.restore(m, i)
            if err:
                return err
        self.alive[i] = 0
        self.nr_alive -= 1
        head, nr = self.head[i], 1 << self.order[i]
        m.unmark_hugepage(head, nr)
        m.release_frames(head, nr, hugetlb=True)
        return None

    def live_on(self, node: int, order: int) -> list[int]:
        return [i for i in range(len(self.head))
                if self.alive[i] and self.node[i] == node and self.order[i] == order]

    def overlapping(self, start: int, end: int) -> list[int]:
        return [i for i in range(len(self.head)) if self.alive[i]
                and self.head[i] < end and self.head[i] + (1 << self.order[i]) > start]

    def dissolve_range(self, start: int, end: int) -> str | None:
        """dissolve_free_hugetlb_folios() for memory offlining; the first failure stops it."""
        for i in self.overlapping(start, end):
            err = self.free(i)
            if err:
                return err
        return None
