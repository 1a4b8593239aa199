"""The state types the kernel functions work on: a memory block and the HugeTLB pool's pages.

Block is `struct memory_block` plus where its memmap lives; HugePool keeps the live huge pages as
runs of pages allocated together (parallel columns, a row per run: O(runs), never O(pfns)). The C
replay keeps the same Block attributes in a C struct (engine/_replay_c.pyx Block): machines make
blocks with `m.Block`.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field, fields

__all__ = ["Block", "BLOCK_FIELDS", "block_fields", "HugePage", "HugePool", "POOL_COLUMNS", "SHARED", "STEPPED"]


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


# A row of the pool: `count` pages of one order at consecutive heads (head, head + 2**order, ...) that
# share the SHARED fields, and whose STEPPED fields go up by a constant per page (x + k * x_step for
# page k of the row). Numbers are codes (engine/codes.py: HVO states and reasons).
POOL_COLUMNS = ("head", "count", "order", "node", "state", "reason", "detail", "detail_step", "v0", "v0_step",
                "tail", "tail_step", "nkeep", "freed", "splits")
SHARED = ("order", "node", "state", "reason", "nkeep", "freed", "splits")
STEPPED = ("detail", "v0", "tail")


@dataclass(slots=True)
class HugePage:
    """One HugeTLB page: head pfn, order, node, HVO state, reason and its detail (a frame, a section or a
    size, by reason), the frames of the head vmemmap page (v0) and of the tails' target (tail), vmemmap
    pages kept, frames freed, PMDs split. What a pool row says of each of its pages."""

    head: int
    order: int
    node: int
    state: int = 0
    reason: int = 0
    detail: int = 0
    v0: int = -1
    tail: int = -1
    nkeep: int = 0
    freed: int = 0
    splits: int = 0


class HugePool:
    """Every live HugeTLB page, as runs of pages allocated together (O(runs), never O(pages) or
    O(pfns)): a row holds `count` pages (POOL_COLUMNS above). add() appends one page, extending the
    last row when the page continues its run: the next head, the same SHARED fields, the STEPPED
    fields on the row's progression (a row of one page takes its steps from the second page). A
    page that leaves the pool shortens or cuts its row (remove()). Rows are only ever appended, so a
    row index stays valid; a row of count 0 is empty. The C replay adds whole runs by the same rule
    (engine/_replay_c.pyx RowBuf), so both implementations leave the same rows."""

    def __init__(self) -> None:
        for c in POOL_COLUMNS:
            setattr(self, c, array("q"))
        self.nr_alive = 0       # live pages (the sum of the counts)

    @property
    def nr_rows(self) -> int:
        return len(self.head)

    def page(self, r: int, k: int) -> HugePage:
        """Page k of row r."""
        return HugePage(self.head[r] + (k << self.order[r]), self.order[r], self.node[r], self.state[r],
                        self.reason[r], self.detail[r] + k * self.detail_step[r], self.v0[r] + k * self.v0_step[r],
                        self.tail[r] + k * self.tail_step[r], self.nkeep[r], self.freed[r], self.splits[r])

    def pages(self):
        """Every live page, row by row (for tests and small machines: a run of a million pages is a
        million HugePages)."""
        for r in range(len(self.head)):
            for k in range(self.count[r]):
                yield self.page(r, k)

    def _continues(self, r: int, p: HugePage) -> bool:
        n = self.count[r]
        if n == 0 or p.head != self.head[r] + (n << self.order[r]):
            return False
        if (p.order != self.order[r] or p.node != self.node[r] or p.state != self.state[r]
                or p.reason != self.reason[r] or p.nkeep != self.nkeep[r] or p.freed != self.freed[r]
                or p.splits != self.splits[r]):                                   # SHARED
            return False
        return n == 1 or (p.detail == self.detail[r] + n * self.detail_step[r]   # STEPPED
                          and p.v0 == self.v0[r] + n * self.v0_step[r]
                          and p.tail == self.tail[r] + n * self.tail_step[r])

    def add(self, p: HugePage) -> None:
        """A new live page, after HVO has looked at it."""
        r = len(self.head) - 1
        if r >= 0 and self._continues(r, p):
            if self.count[r] == 1:
                self.detail_step[r] = p.detail - self.detail[r]
                self.v0_step[r] = p.v0 - self.v0[r]
                self.tail_step[r] = p.tail - self.tail[r]
            self.count[r] += 1
        else:
            for col, v in ((self.head, p.head), (self.count, 1), (self.order, p.order), (self.node, p.node),
                           (self.state, p.state), (self.reason, p.reason), (self.detail, p.detail),
                           (self.detail_step, 0), (self.v0, p.v0), (self.v0_step, 0), (self.tail, p.tail),
                           (self.tail_step, 0), (self.nkeep, p.nkeep), (self.freed, p.freed),
                           (self.splits, p.splits)):                              # POOL_COLUMNS
                col.append(v)
        self.nr_alive += 1

    def remove(self, r: int, k: int) -> None:
        """Page k of row r leaves the pool. The row keeps the pages after it (the last page: the row
        just gets shorter); the pages before it, if any, move to a new row at the end."""
        n = self.count[r]
        if k == n - 1:
            self.count[r] = n - 1
        else:
            if k:
                for c in POOL_COLUMNS:
                    col = getattr(self, c)
                    col.append(k if c == "count" else col[r])
            k += 1
            self.head[r] += k << self.order[r]
            for c in STEPPED:
                getattr(self, c)[r] += k * getattr(self, c + "_step")[r]
            self.count[r] = n - k
        self.nr_alive -= 1

    def find(self, head: int) -> tuple[int, int]:
        """(row, page) of the live page with this head pfn, or (-1, -1)."""
        for r, (h, n, o) in enumerate(zip(self.head, self.count, self.order)):
            if h <= head < h + (n << o) and not (head - h) & ((1 << o) - 1):
                return r, (head - h) >> o
        return -1, -1

    def rows_on(self, node: int, order: int) -> list[int]:
        """The live rows of one size on one node."""
        return [r for r in range(len(self.head))
                if self.count[r] and self.node[r] == node and self.order[r] == order]

    def overlapping(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """(row, first page, end page) of the live pages overlapping [start, end), by head pfn."""
        out = []
        for r, (h, n, o) in enumerate(zip(self.head, self.count, self.order)):
            if n and h < end and h + (n << o) > start:
                out.append((r, max(0, (start - h) >> o), min(n, -(-(end - h) >> o))))
        return sorted(out, key=lambda x: self.head[x[0]])
