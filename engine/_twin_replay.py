"""The replay's hot loops in plain Python, one huge page at a time: the readable oracle that
engine/_replay.pyx must match.

Each page is allocated the way one increment of nr_hugepages allocates it (the lowest free,
naturally aligned run of the first zone that has one), then gets its own HVO verdict
(hvo.check_hvo) and, if optimised, its own hvo.optimize: no page shares another's verdict.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import hvo

if TYPE_CHECKING:
    from .hugetlb import HugePages

__all__ = ["alloc_hugepages", "add_hugepage_run"]


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
