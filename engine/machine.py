"""Machine: the state of one simulated machine and its page-level helpers.

State is a handful of range tables (blocks, roles of frames, vmemmap runs, HVO overlays, huge
pages), never an array per pfn; per-pfn answers come from binary searches over them. The kernel
functions that change it live in memory.py, memmap.py, hugetlb.py and hvo.py; the boot and the
op dispatch in replay.py. This module imports none of them.
"""
from __future__ import annotations

from bisect import bisect_left
from types import ModuleType
from typing import Any

from .arch import Arch, zone_of_boot_pfn
from .buddy import Buddy
from .budget import Budget
from .codes import MEMMAP_ROLES, ROLES
from .kernel import Kernel
from .mm_types import Block, HugePool
from .rangemap import RangeMap
from .scenario import Scenario
from .units import format_size
from .vmemmap import VmemmapRuns

__all__ = ["Machine"]


class Machine:
    """A simulated machine: what the scenario describes, and the state its ops leave."""

    def __init__(self, scenario: Scenario, arch: Arch, kernel: Kernel, budget: Budget,
                 bulk: ModuleType | None = None) -> None:
        self.scenario = scenario
        self.arch = arch
        self.kernel = kernel
        self.budget = budget
        # the C versions of the bulk kernel loops (engine/_replay_c.pyx), or None: the Python model
        self.bulk = bulk
        self.Block = bulk.Block if bulk is not None else Block
        self.params = scenario.params
        self.struct_page_size = scenario.machine.struct_page_size
        self.events: list[dict[str, Any]] = []
        self.effects: list[str] = []     # the kernel's side effects during the current op (its event says them)
        self.dmesg: list[str] = []
        self.op_index, self.op_name = -1, "boot"
        self.roles = RangeMap()          # frames with a known use (memmap, page tables, ...)
        self.hvo_freed = RangeMap()      # frames freed by HVO (overlay on roles)
        self.hp_map = RangeMap()         # pfns inside live huge pages
        self.vmemmap = VmemmapRuns()     # vmemmap as populated at add time
        self.overlay = VmemmapRuns()     # vmemmap pages remapped after HVO was undone
        self.split_pmds: dict[int, int] = {}   # vmemmap PMD index -> PTE table pfn
        self.buddy = Buddy(dma_fallback=arch.dma_fallback)
        self.hugetlb = HugePool()
        self.blocks: dict[int, Block] = {}
        self._block_ids: list[int] = []
        # set by the boot (replay.boot)
        self.pfn_offset = 0              # memstart pfn: the vmemmap is indexed from it
        self.memstart = 0
        self.vmemmap_start = arch.vmemmap_start
        self.block_size = self.block_pages = 0
        self.boot_memmap_pages = 0       # memblock memmap: never given back, counts against managed
        self.boot_memmap_freed = 0       # ... except what HVO freed of it (free_bootmem_page)
        self.hvo_enabled = False
        self.sysctl_touched = False
        self.movable_gigantic = False    # vm.movable_gigantic_pages (7.0+)
        # 7.1+: each zone's shared page of tail struct pages per huge page order (zone->vmemmap_tails[])
        self.vmemmap_tails: dict[tuple[int, str, int], int] = {}

    # ---------------------------------------------------------------- helpers
    def vpage_of(self, pfn: int) -> int:
        """Vmemmap page holding the start of pfn's struct page."""
        return ((pfn - self.pfn_offset) * self.struct_page_size) >> self.arch.page_shift

    def pfn_to_page(self, pfn: int) -> int:
        """pfn_to_page(): the address of pfn's struct page (vmemmap_base + (pfn - memstart) * size)."""
        return self.vmemmap_start + (pfn - self.pfn_offset) * self.struct_page_size

    def backing_of_vpage(self, v: int) -> tuple[int, int, int]:
        """(frame, kind, mapping) of vmemmap page v, ignoring live HVO remaps."""
        r = self.overlay.lookup(v)
        return r if r[0] >= 0 else self.vmemmap.lookup(v)

    def event(self, outcome: str, message: str, **extra: Any) -> dict[str, Any]:
        ev = {"index": self.op_index, "op": self.op_name, "outcome": outcome, "message": message}
        ev.update(extra)
        return ev

    def range_str(self, s: int, e: int) -> str:
        ps = self.arch.page_size
        return f"[mem {s * ps:#018x}-{e * ps - 1:#018x}]"

    def size_str(self, order: int) -> str:
        return format_size(self.arch.page_size << order)

    def add_block(self, b: Block) -> None:
        self.blocks[b.id] = b
        i = bisect_left(self._block_ids, b.id)
        self._block_ids.insert(i, b.id)

    def add_blocks(self, blocks: list[Block]) -> None:
        """add_block() for each, in one go when they all come after the last block."""
        if blocks and (not self._block_ids or blocks[0].id > self._block_ids[-1]):
            ids = [b.id for b in blocks]
            self.blocks.update(zip(ids, blocks))
            self._block_ids.extend(ids)
        else:
            for b in blocks:
                self.add_block(b)

    def drop_block(self, b: Block) -> None:
        del self.blocks[b.id]
        self._block_ids.remove(b.id)

    def block_of(self, pfn: int) -> Block | None:
        return self.blocks.get(pfn // self.block_pages) if pfn >= 0 else None

    def blocks_in(self, s: int, e: int) -> list[Block]:
        lo = bisect_left(self._block_ids, s // self.block_pages)
        hi = bisect_left(self._block_ids, -(-e // self.block_pages))
        return [self.blocks[i] for i in self._block_ids[lo:hi]]

    def sorted_blocks(self) -> list[Block]:
        return [self.blocks[i] for i in self._block_ids]

    def pfn_present(self, pfn: int) -> bool:
        b = self.block_of(pfn)
        return b is not None and any(s <= pfn < e for s, e in b.present)

    def zone_of(self, b: Block, pfn: int) -> str:
        if b.boot and b.zone and b.zone != "Movable":
            return zone_of_boot_pfn(self.arch, pfn)
        return b.zone or ""

    def _zone_pieces(self, b: Block, s: int, e: int):
        if not b.boot or b.zone == "Movable":
            yield s, e, b.zone
            return
        pts = sorted({s, e} | {c // self.arch.page_size for _, c in self.arch.dma_zones
                               if s < c // self.arch.page_size < e})
        for p, q in zip(pts, pts[1:]):
            yield p, q, zone_of_boot_pfn(self.arch, p)

    def free_to_buddy(self, b: Block, s: int, e: int) -> None:
        if s >= e or b.state != "online":
            return
        for p, q, zone in self._zone_pieces(b, s, e):
            self.buddy.freelist(b.node, zone).free(p, q)

    def isolate(self, b: Block, s: int) -> list[tuple[tuple[int, str], int, int]]:
        """Take the free pages of b (from pfn s) out of the allocator; returns what was taken."""
        taken = []
        for key, fl in self.buddy.lists.items():
            if key[0] != b.node:
                continue
            for fs, fe in list(zip(fl.starts, fl.ends)):
                lo, hi = max(fs, s, b.start), min(fe, b.end)
                if lo < hi:
                    taken.append((key, lo, hi))
        for key, lo, hi in taken:
            self.buddy.lists[key].take(lo, hi)
        return taken

    def unisolate(self, taken: list[tuple[tuple[int, str], int, int]]) -> None:
        for key, lo, hi in taken:
            self.buddy.lists[key].free(lo, hi)

    def release_frames(self, pfn: int, nr: int, hugetlb: bool = False) -> None:
        """Frames go back to the buddy allocator of the block that holds them."""
        if not hugetlb:
            self.roles.clear(pfn, pfn + nr)
        p, end = pfn, pfn + nr
        while p < end:
            b = self.block_of(p)
            q = min(end, b.end) if b else end
            if b is not None:
                for s, e in b.present:
                    self.free_to_buddy(b, max(s, p), min(e, q))
            p = q

    def mark_hugepage(self, start: int, end: int) -> None:
        self.hp_map.assign(start, end, 1)

    def unmark_hugepage(self, head: int, nr: int) -> None:
        self.hp_map.clear(head, head + nr)

    def describe_frame(self, pfn: int) -> str:
        code = self.hvo_freed.get(pfn)
        if code < 0:
            code = self.roles.get(pfn)
        if code < 0:
            return "hugetlb" if self.hp_map.get(pfn) >= 0 else "free"
        name = ROLES[code][0]
        if code in MEMMAP_ROLES:
            users = self._memmap_owner(pfn)
            return f"{name}, struct pages of {users}"
        return name

    def _memmap_owner(self, frame: int) -> str:
        rs = self.vmemmap
        for i in range(len(rs)):
            if rs.backing[i] <= frame < rs.backing[i] + rs.vend[i] - rs.vstart[i]:
                v = rs.vstart[i] + frame - rs.backing[i]
                pfn = (v << self.arch.page_shift) // self.struct_page_size + self.pfn_offset
                return f"pfn {hex(pfn)} (memory{pfn // self.block_pages})"
        return "?"

    def first_busy(self, s: int, e: int) -> str:
        for rs, _, code in self.roles.overlapping(s, e):
            return f"pfn {hex(rs)}: {ROLES[code][0]}"
        for hs, _, _ in self.hp_map.overlapping(s, e):
            return f"pfn {hex(hs)}: hugetlb"
        return "offline or in another zone"

    def memmap_users_in(self, s: int, e: int) -> str:
        """Blocks outside [s, e) whose struct pages are stored in frames inside it."""
        users = set()
        rs = self.vmemmap
        S, sh, bp = self.struct_page_size, self.arch.page_shift, self.block_pages
        for i in range(len(rs)):
            b0, n = rs.backing[i], rs.vend[i] - rs.vstart[i]
            lo, hi = max(b0, s), min(b0 + n, e)          # frames of this run inside [s, e)
            if lo < hi:
                # every pfn whose struct page lies in those frames (a run can span many blocks,
                # e.g. a shared altmap), not just the run's first pfn
                v0, v1 = rs.vstart[i] + lo - b0, rs.vstart[i] + hi - b0
                p0 = -(-(v0 << sh) // S) + self.pfn_offset
                p1 = ((v1 << sh) - 1) // S + self.pfn_offset
                users.update(bid for bid in range(p0 // bp, p1 // bp + 1)
                             if bid in self.blocks and not (s <= bid * bp and (bid + 1) * bp <= e))
        return ", ".join(f"memory{u}" for u in sorted(users))
