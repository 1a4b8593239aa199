"""The state types the kernel functions work on: a memory block and the HugeTLB pool's pages.

Block is `struct memory_block` plus where its memmap lives; HugePool keeps every huge page ever
allocated as parallel columns (O(pages), never O(pfns)). The C replay keeps the same Block
attributes in a C struct (engine/_replay_c.pyx Block): machines make blocks with `m.Block`.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field, fields

__all__ = ["Block", "BLOCK_FIELDS", "block_fields", "HugePool", "POOL_COLUMNS"]


@dataclass
class Block:
    """One memory block (memoryN) and where its memmap lives."""

    id: int
    start: int                      # first pfn
    nr_pages: int
    node: int
    boot: bool
    present: list[tuple[int, int]]  # present pfn ranges inside the block
    state: str = "offline"
    zone: str | None = None
    memmap_where: str = "memblock"  # memblock | buddy | self | altmap of another block
    mmo_used: bool = False
    mmo_reason: str = ""
    altmap_base: int = -1           # pfn of the altmap that holds this block's memmap
    nr_vmemmap: int = 0             # pages reserved at this block's start (memmap + padding)
    nr_vmemmap_used: int = 0
    group: tuple[int, int] = (0, 0)  # pfn range of the add_memory() call
    section_flag: bool = False      # v2: SECTION_CANNOT_OPTIMIZE_VMEMMAP on its sections
    hazards: list[str] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.start + self.nr_pages

    def present_pages(self) -> int:
        return sum(e - s for s, e in self.present)


BLOCK_FIELDS = tuple(f.name for f in fields(Block))


def block_fields(b) -> dict:
    """A Block's attributes as a dict, whichever implementation made it."""
    return {f: getattr(b, f) for f in BLOCK_FIELDS}


POOL_COLUMNS = ("head", "order", "node", "state", "reason", "detail", "v0", "tail", "nkeep", "freed",
                "splits", "alive")


class HugePool:
    """Every HugeTLB page ever allocated, one row each: head pfn, order, node, HVO state, reason and
    its detail, the frames of the head vmemmap page (v0) and of the tails' target (tail), vmemmap
    pages kept, frames freed, PMDs split, and whether the page is still in the pool."""

    def __init__(self) -> None:
        for c in POOL_COLUMNS:
            setattr(self, c, array("q"))
        self.nr_alive = 0

    def __len__(self) -> int:
        return len(self.head)

    def append(self, head: int, order: int, node: int) -> int:
        """A new live row, not yet looked at by HVO; returns its index."""
        i = len(self.head)
        for c, v in zip(POOL_COLUMNS, (head, order, node, 0, 0, 0, -1, -1, 0, 0, 0, 1)):
            getattr(self, c).append(v)
        self.nr_alive += 1
        return i

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

    def live_on(self, node: int, order: int) -> list[int]:
        return [i for i in range(len(self.head))
                if self.alive[i] and self.node[i] == node and self.order[i] == order]

    def overlapping(self, start: int, end: int) -> list[int]:
        return [i for i in range(len(self.head)) if self.alive[i]
                and self.head[i] < end and self.head[i] + (1 << self.order[i]) > start]
