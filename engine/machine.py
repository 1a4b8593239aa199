"""Machine: replays a scenario's ops on the modelled kernel and answers queries about the result.

State is a handful of range tables (blocks, roles of frames, vmemmap runs, HVO overlays, huge
pages), never an array per pfn; per-pfn answers come from binary searches over them.
"""
from __future__ import annotations

from bisect import bisect_left
from types import ModuleType
from typing import Any

from . import _impl, hvo, memory
from .arch import arch_for, probe_memory_block_size, zone_of_boot_pfn
from .buddy import Buddy
from .budget import Budget
from .errors import ScenarioError
from .hugetlb import HugePages
from .kernel import kernel_for
from .memmap import place_boot_memmap
from .memory import MAX_BLOCKS, Block
from .rangemap import RangeMap
from .roles import ROLE_CODE, ROLES
from .scenario import Scenario
from .units import format_size, human_size
from .vmemmap import VmemmapRuns

__all__ = ["Machine"]

GiB = 1 << 30
MEMMAP_BUDDY, MEMMAP_SELF = ROLE_CODE["memmap_buddy"], ROLE_CODE["memmap_self"]
SWAPCACHE = ROLE_CODE["swapcache"]
MAX_HUGEPAGES = 4_000_000      # live huge pages per machine: bounds memory and time per request


class Machine:
    """A simulated machine after replaying a scenario (see engine.evaluate)."""

    def __init__(self, scenario: Scenario, budget: Budget | None = None, core: ModuleType | None = None) -> None:
        self.scenario = scenario
        self.core = core or _impl.load()      # the replay's hot loops: Cython, or the Python twin
        self.budget = budget or Budget()
        ms = scenario.machine
        try:
            self.arch = arch_for(ms.arch, ms.page_size, ms.paging_levels if ms.arch == "x86_64" else 4)
        except ValueError as e:
            raise ScenarioError(("machine",), str(e)) from None
        try:
            self.kernel = kernel_for(scenario.kernel)
        except ValueError as e:
            raise ScenarioError(("kernel",), str(e)) from None
        self.params = scenario.params
        self.struct_page_size = ms.struct_page_size
        a = self.arch
        self.events: list[dict[str, Any]] = []
        self.dmesg: list[str] = []
        self._op_index, self._op_name = -1, "boot"
        self.roles = RangeMap()          # frames with a known use (memmap, page tables, ...)
        self.hvo_freed = RangeMap()      # frames freed by HVO (overlay on roles)
        self.hp_map = RangeMap()         # pfns inside live huge pages
        self.vmemmap = VmemmapRuns()     # vmemmap as populated at add time
        self.overlay = VmemmapRuns()     # vmemmap pages remapped after HVO was undone
        self.split_pmds: dict[int, int] = {}   # vmemmap PMD index -> PTE table pfn
        self.buddy = Buddy(dma_fallback=a.name == "arm64")
        self.hugetlb = HugePages(self)
        self.blocks: dict[int, Block] = {}
        self._block_ids: list[int] = []
        self.boot_memmap_freed = 0
        self.sysctl_touched = False
        self._setup_boot(ms)
        # memblock memmap is never given back when its frames change hands later (HVO frees some of
        # them once: boot_memmap_freed), so managed pages count against this fixed total
        self.boot_memmap_pages = sum(e - s for s, e, r in zip(self.roles.starts, self.roles.ends, self.roles.vals)
                                     if r == ROLE_CODE["memmap_boot"])
        k = self.kernel
        self.hvo_enabled = bool(self.params.hugetlb_free_vmemmap and k.hvo_available(a.name))
        self._boot_messages()

    # ---------------------------------------------------------------- boot
    def _setup_boot(self, ms) -> None:
        a = self.arch
        ranges = []
        for i, r in enumerate(self.scenario.boot_memory):
            loc = ("boot_memory", i)
            if r.size == 0:
                raise ScenarioError(loc + ("size",), "must not be 0")
            if r.start % a.page_size or r.size % a.page_size:
                raise ScenarioError(loc + ("start" if r.start % a.page_size else "size",),
                                    f"not aligned to the {human_size(a.page_size)} page size")
            if r.start >= a.max_phys:
                raise ScenarioError(loc + ("start",), f"{hex(r.start)} is beyond the "
                                    f"{a.max_physmem_bits}-bit physical address limit ({hex(a.max_phys)}) of {a.key}")
            if r.start + r.size > a.max_phys:
                raise ScenarioError(loc + ("size",), f"range ends beyond the {a.max_physmem_bits}-bit "
                                    f"physical address limit ({hex(a.max_phys)}) of {a.key}")
            ranges.append((r.start // a.page_size, (r.start + r.size) // a.page_size, r.node, i))
        ranges.sort()
        for (s0, e0, _, i0), (s1, _, _, i1) in zip(ranges, ranges[1:]):
            if s1 < e0:
                raise ScenarioError(("boot_memory", i1, "start"), f"overlaps boot_memory[{i0}]")
        # memstart (arm64 DRAM base) and the vmemmap base
        self.pfn_offset = 0
        if a.name == "arm64":
            if ms.vmemmap_base is not None:
                raise ScenarioError(("machine", "vmemmap_base"), "arm64 does not randomise VMEMMAP_START; "
                                    "set memstart instead")
            lo = ranges[0][0] * a.page_size
            memstart = ms.memstart if ms.memstart is not None else lo // a.memstart_align * a.memstart_align
            if memstart % a.memstart_align:
                raise ScenarioError(("machine", "memstart"), f"not aligned to ARM64_MEMSTART_ALIGN "
                                    f"({human_size(a.memstart_align)})")
            if memstart > lo:
                raise ScenarioError(("machine", "memstart"), "above the lowest boot RAM")
            self.memstart = memstart
            self.pfn_offset = memstart // a.page_size
            self.vmemmap_start = a.vmemmap_start
        else:
            if ms.memstart is not None:
                raise ScenarioError(("machine", "memstart"), "memstart applies to arm64 only")
            self.memstart = 0
            base = ms.vmemmap_base if ms.vmemmap_base is not None else a.vmemmap_start
            if base % GiB or base < (1 << 63):
                raise ScenarioError(("machine", "vmemmap_base"), "must be a 1 GiB (PUD) aligned kernel "
                                    "address (KASLR rounds vmemmap_base to a PUD)")
            if base + a.vmemmap_size > (1 << 64):
                raise ScenarioError(("machine", "vmemmap_base"), "the vmemmap region would wrap past 2^64")
            self.vmemmap_start = base
        boot_end = max(e for _, e, _, _ in ranges) * a.page_size
        section = 1 << a.section_size_bits
        if ms.memory_block_size == "auto":
            bsz = probe_memory_block_size(a, boot_end, ms.hypervisor)
        else:
            bsz = ms.memory_block_size
            if bsz < section or bsz & (bsz - 1) or bsz > max(2 * GiB, section):
                raise ScenarioError(("machine", "memory_block_size"), f"must be a power of two from one "
                                    f"section ({human_size(section)}) to {human_size(max(2 * GiB, section))}")
        self.block_size = bsz
        self.block_pages = bsz // a.page_size
        # boot blocks
        by_block: dict[int, list[tuple[int, int, int]]] = {}
        for s, e, node, _ in ranges:
            p = s
            while p < e:
                bid = p // self.block_pages
                q = min(e, (bid + 1) * self.block_pages)
                by_block.setdefault(bid, []).append((p, q, node))
                p = q
        if len(by_block) > MAX_BLOCKS:
            raise ScenarioError(("boot_memory",), f"{len(by_block)} memory blocks of {human_size(bsz)}: the "
                                f"simulator holds at most {MAX_BLOCKS} (choose a larger memory_block_size)")
        for bid, parts in sorted(by_block.items()):
            self.budget.tick()
            nodes = {n for _, _, n in parts}
            if len(nodes) > 1:
                raise ScenarioError(("boot_memory",), f"memory{bid} would span nodes {sorted(nodes)}: "
                                    "align node boundaries to the memory block size")
            b = self.core.Block(id=bid, start=bid * self.block_pages, nr_pages=self.block_pages, node=parts[0][2],
                      boot=True, present=[(p, q) for p, q, _ in parts], state="online",
                      memmap_where="memblock", mmo_reason="boot memory")
            zones = sorted({zone_of_boot_pfn(a, p) for p, q, _ in parts} |
                           {zone_of_boot_pfn(a, q - 1) for p, q, _ in parts})
            b.zone = "+".join(zones)
            self.add_block(b)
        # sparse_init(): one memblock buffer per node
        shift = a.pfn_section_shift
        for node in sorted({n for _, _, n, _ in ranges}):
            nr = [(s, e) for s, e, n, _ in ranges if n == node]
            secs = sorted({sec for s, e in nr for sec in range(s >> shift, ((e - 1) >> shift) + 1)})
            placed = place_boot_memmap(self, node, secs, nr)
            if placed is None:
                raise ScenarioError(("boot_memory",), f"node {node}'s boot memory cannot hold its own "
                                    "memmap (sparse_init would panic)")
        for bid in self._block_ids:
            b = self.blocks[bid]
            for s, e in b.present:
                cur = s
                for rs, re_, _ in list(self.roles.overlapping(s, e)):
                    self.free_to_buddy(b, cur, rs)
                    cur = re_
                self.free_to_buddy(b, cur, e)

    def _boot_messages(self) -> None:
        a, k = self.arch, self.kernel
        if a.name == "x86_64":
            self.dmesg.append(f"x86/mm: Memory block size: {self.block_size >> 20}MB")
        if self.hvo_enabled and not (self.struct_page_size & (self.struct_page_size - 1)):
            for size in a.hugetlb_sizes:
                n = (self.struct_page_size * (size // a.page_size)) // a.page_size
                free = n - k.hvo_reserve_pages
                if free > 0 and not k.at_least(6, 0):
                    # 5.19 (HV-5.19): pr_info("can optimize %d vmemmap pages for %s", .., h->name);
                    # 5.14-5.18 said "can free" (kernel-model.md 4, M)
                    verb = "optimize" if k.hvo_sysctl else "free"
                    self.dmesg.append(f"HugeTLB: can {verb} {free} vmemmap pages for "
                                      f"hugepages-{size >> 10}kB")
                elif free > 0:
                    self.dmesg.append(f"HugeTLB: {free * a.page_size >> 10} KiB vmemmap can be freed "
                                      f"for a {size / (1 << 30) if size >= GiB else size / (1 << 20):.2f} "
                                      f"{'GiB' if size >= GiB else 'MiB'} page")
        if self.params.memmap_on_memory == "force" and k.mmo_force:
            nr = self.block_pages * self.struct_page_size // a.page_size
            pad = -(-nr // a.pageblock_nr_pages) * a.pageblock_nr_pages - nr
            self.dmesg.append(f"Memory hotplug will waste {pad} pages in each memory block")

    # ---------------------------------------------------------------- helpers
    def vpage_of(self, pfn: int) -> int:
        """Vmemmap page holding the start of pfn's struct page."""
        return ((pfn - self.pfn_offset) * self.struct_page_size) >> self.arch.page_shift

    def struct_page_vaddr(self, pfn: int) -> int:
        return self.vmemmap_start + (pfn - self.pfn_offset) * self.struct_page_size

    def backing_of_vpage(self, v: int) -> tuple[int, int, int]:
        """(frame, kind, mapping) of vmemmap page v, ignoring live HVO remaps."""
        r = self.overlay.lookup(v)
        return r if r[0] >= 0 else self.vmemmap.lookup(v)

    def event(self, outcome: str, message: str, **extra: Any) -> dict[str, Any]:
        ev = {"index": self._op_index, "op": self._op_name, "outcome": outcome, "message": message}
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
        pts = sorted({s, e} | {c // self.arch.page_size for c in (16 << 20, 4 << 30)
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
        if code in (MEMMAP_BUDDY, MEMMAP_SELF, ROLE_CODE["memmap_boot"]):
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

    def unmap_memmap(self, s: int, e: int) -> None:
        """arch_remove_memory(): unmap the vmemmap of [s, e) and free what backed it."""
        g = self.arch.ptrs_per_pte
        lo = self.vpage_of(s)
        hi = -(-((e - self.pfn_offset) * self.struct_page_size) // self.arch.page_size)
        if self.arch.vmemmap_pmd:          # keep PMDs still shared with present neighbours
            if lo % g and self.pfn_present(s - 1):
                lo = (lo // g + 1) * g
            if hi % g and self.pfn_present(e):
                hi = hi // g * g
        # vmemmap pages remapped by an HVO restore: their original frames went back to the
        # allocator at restore time and must not be released twice
        ov = self.overlay
        remapped = [(max(a, lo), min(b, hi)) for a, b in zip(ov.vstart, ov.vend) if a < hi and b > lo]
        for frame, nr, kind in ov.remove(lo, hi):
            self.release_frames(frame, nr)
        cuts = sorted({lo, hi} | {x for r in remapped for x in r})
        for a, b in zip(cuts, cuts[1:]):
            released = self.vmemmap.remove(a, b)
            if any(ra <= a and b <= rb for ra, rb in remapped):
                continue
            for frame, nr, kind in released:
                if kind == MEMMAP_SELF and s <= frame < e:
                    continue
                self.release_frames(frame, nr)
        for pmd in [p for p in self.split_pmds if lo <= p * g and (p + 1) * g <= hi]:
            self.release_frames(self.split_pmds.pop(pmd), 1)
        self.roles.clear(s, e)
        self.hvo_freed.clear(s, e)

    # ---------------------------------------------------------------- replay
    def replay(self) -> None:
        self.budget.check()
        for i, op in enumerate(self.scenario.ops):
            self._op_index, self._op_name = i, op.op
            self.budget.where = ("ops", i)
            self.events.append(getattr(self, "_op_" + op.op)(("ops", i), op))
            self.budget.check()
        self._op_index, self._op_name = -1, ""

    def _op_add_memory(self, loc, op):
        if op.altmap_scope == "range" and not op.memmap_on_memory:
            raise ScenarioError(loc + ("altmap_scope",), "a shared altmap needs memmap_on_memory")
        return memory.add_memory(self, loc, op)

    def _op_online(self, loc, op):
        return memory.online_blocks(self, loc, op)

    def _op_offline(self, loc, op):
        return memory.offline_blocks(self, loc, op)

    def _op_remove_memory(self, loc, op):
        return memory.remove_memory(self, loc, op)

    def _hugetlb_order(self, loc, size: int) -> int:
        a = self.arch
        if size not in a.hugetlb_sizes:
            raise ScenarioError(loc + ("size",), f"{a.key} offers HugeTLB sizes "
                                f"{', '.join(format_size(s) for s in a.hugetlb_sizes)}")
        return a.hugetlb_order(size)

    def _check_node(self, loc, node: int) -> None:
        if not any(b.node == node for b in self.blocks.values()):
            raise ScenarioError(loc + ("node",), f"node {node} has no memory (no /sys/devices/system/node/node{node})")

    def _op_alloc_hugepages(self, loc, op):
        order = self._hugetlb_order(loc, op.size)
        self._check_node(loc, op.node)
        room = MAX_HUGEPAGES - self.hugetlb.nr_alive
        got, optimised = self.hugetlb.alloc_count(op.node, order, min(op.count, room))
        if got == room < op.count:
            raise ScenarioError(loc + ("count",), f"the simulator holds at most {MAX_HUGEPAGES} live huge "
                                f"pages; this op would need {self.hugetlb.nr_alive - got + op.count}")
        msg = (f"node{op.node} hugepages-{human_size(op.size).replace(' ', '')}: asked for {op.count} more, "
               f"allocated {got}")
        if got:
            msg += f" ({optimised} optimised by HVO)"
        return self.event("ok" if got == op.count else ("partial" if got else "failed"), msg,
                          allocated=got, optimized=optimised)

    def _op_alloc_hugepage(self, loc, op):
        order = self._hugetlb_order(loc, op.size)
        a = self.arch
        if op.at % op.size:
            raise ScenarioError(loc + ("at",), f"not aligned to the {human_size(op.size)} huge page size")
        if op.at + op.size > a.max_phys:
            raise ScenarioError(loc + ("at",), "beyond the physical address limit")
        head = op.at // a.page_size
        r = self.hugetlb.alloc_at(head, order)
        if isinstance(r, str):
            return self.event("refused", f"alloc_contig_range: {r}")
        st = hvo.HVO_STATES[self.hugetlb.state[r]]
        return self.event("ok", f"HugeTLB {format_size(op.size)} page at pfn {hex(head)}: HVO {st}: "
                          f"{hvo.reason_text(self, r)}")

    def _op_free_hugepage(self, loc, op):
        head = op.at // self.arch.page_size
        if op.at % self.arch.page_size:
            raise ScenarioError(loc + ("at",), "not page aligned")
        i = self.hugetlb.find(head)
        if i < 0:
            raise ScenarioError(loc + ("at",), f"no HugeTLB page has its head at {hex(op.at)}")
        err = self.hugetlb.free(i)
        if err:
            return self.event("failed", f"free huge page {hex(head)}: {err}; the page stays in the pool "
                              "as a surplus page")
        return self.event("ok", f"freed HugeTLB page {hex(head)} ({self.size_str(self.hugetlb.order[i])})")

    def _op_free_hugepages(self, loc, op):
        order = self._hugetlb_order(loc, op.size)
        self._check_node(loc, op.node)
        live = self.core.live_on(self.hugetlb, op.node, order)   # highest head first
        self.budget.check()
        freed, errs = 0, []
        for i in live[:op.count]:
            err = self.hugetlb.free(i)
            if err:
                errs.append(err)
                break
            freed += 1
        msg = f"node{op.node}: freed {freed} of {min(op.count, len(live))} {format_size(op.size)} pages"
        if errs:
            msg += f"; {errs[0]}"
        return self.event("ok" if not errs and freed == op.count else ("partial" if freed else "failed"),
                          msg, freed=freed)

    def _op_sysctl(self, loc, op):
        k, a = self.kernel, self.arch
        if not k.hvo_sysctl or not k.hvo_available(a.name):
            return self.event("refused", "vm.hugetlb_optimize_vmemmap: no such sysctl in "
                              f"{k.version} on {a.name} (it appeared in 5.19 where HVO is built)")
        if k.hvo_overrides_mmo and self.params.memmap_on_memory == "on" and not self.params.hugetlb_free_vmemmap:
            return self.event("refused", "vm.hugetlb_optimize_vmemmap is not registered when "
                              "memmap_on_memory is enabled (5.19)")
        S = self.struct_page_size
        if S & (S - 1):
            return self.event("refused", "vm.hugetlb_optimize_vmemmap is not registered: "
                              f"sizeof(struct page) = {S} is not a power of two")
        self.hvo_enabled = op.hugetlb_optimize_vmemmap
        self.sysctl_touched = True
        return self.event("ok", f"vm.hugetlb_optimize_vmemmap = {int(op.hugetlb_optimize_vmemmap)} "
                          "(applies to huge pages allocated from now on)")

    def _op_swapcache_page(self, loc, op):
        pfn = op.pfn
        key = self.buddy.zone_of_free(pfn)
        if key is None:
            return self.event("refused", f"pfn {hex(pfn)} is not a free page")
        self.buddy.lists[key].take(pfn, pfn + 1)
        self.roles.assign(pfn, pfn + 1, SWAPCACHE)
        return self.event("ok", f"pfn {hex(pfn)} now holds an anonymous page in the swap cache "
                          "(PG_swapcache, an alias of PG_owner_priv_1)")
