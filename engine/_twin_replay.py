"""The replay's hot loops in plain Python, one memory block and one huge page at a time: the
readable oracle that engine/_replay.pyx must match.

Each block's memmap is populated and each block onlined on its own. Each huge page is allocated the way one increment of nr_hugepages allocates it (the lowest free,
naturally aligned run of the first zone that has one), then gets its own HVO verdict
(hvo.check_hvo) and, if optimised, its own hvo.optimize: no page shares another's verdict.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import hvo
from .memmap import populate_from_altmap
from .memory import Block, online_one

if TYPE_CHECKING:
    from .hugetlb import HugePages
    from .machine import Machine

__all__ = ["new_blocks", "populate_altmaps", "online_blocks", "alloc_hugepages", "add_hugepage_run"]


def populate_altmaps(m: "Machine", bases: range, npages: int) -> None:
    """vmemmap_populate() with an altmap at each base pfn, for npages pages: struct pages carved
    from the start of the range itself."""
    for base in bases:
        m.budget.tick()
        populate_from_altmap(m, base, npages)


def new_blocks(m: "Machine", bases: range, first: dict, rest: dict) -> list["Block"]:
    """The Block of each base pfn; an altmap_base of None means the block's own start."""
    out = []
    for bs in bases:
        m.budget.tick()
        f = first if bs == bases.start else rest
        out.append(Block(id=bs // bases.step, start=bs, present=[(bs, bs + bases.step)],
                         **{**f, "altmap_base": bs if f["altmap_base"] is None else f["altmap_base"]}))
    return out


def online_blocks(m: "Machine", blocks: list["Block"], zone: str) -> tuple[int, int]:
    """Online each block; returns the (present, managed) pages they bring."""
    for b in blocks:
        online_one(m, b, zone)
    present = sum(b.present_pages() for b in blocks)
    return present, present - sum(b.nr_vmemmap for b in blocks)


def alloc_hugepages(hp: "HugePages", node: int, order: int, count: int) -> tuple[int, int]:
    """Up to count new pages on node; returns (allocated, optimised)."""
    m, nr = hp.m, 1 << order
    heads: list[int] = []
    for zone in hp.zones_for(order):
        fl = m.buddy.lists.get((node, zone))
        while fl is not None and len(heads) < count:
            m.budget.tick()
            head = fl.alloc(nr, nr)
            if head < 0:
                break
            heads.append(head)
    return len(heads), sum(_add_one(hp, head, order, node) for head in heads)


def add_hugepage_run(hp: "HugePages", heads: range, order: int, node: int) -> int:
    """Record pages already taken from the allocator; returns how many HVO optimised."""
    return sum(_add_one(hp, head, order, node) for head in heads)


def _add_one(hp: "HugePages", head: int, order: int, node: int) -> int:
    hp.m.mark_hugepage(head, head + (1 << order))
    i = hp._append(head, order, node)
    hp._prepare(i)
    return int(hp.state[i] == hvo.OPTIMIZED)
