"""The engine's public API: evaluate a scenario, then ask about pfns, windows and totals.

Shapes match the REST API: 64-bit values as 0x-prefixed lower-case hex strings, sizes in the short
form ("2M"), blocks by id (the N of memoryN).
"""
from __future__ import annotations

import copy
import operator
from array import array
from bisect import bisect_right
from typing import Any, Iterable, NamedTuple

from . import _impl, listings
from .budget import Budget
from .codes import HVO_OPTIMIZED, HVO_STATES, KPF, MAPPINGS, MAX_BINS, MAX_RESOLVE, ROLES, STATE_NAMES, ZONE_NAMES
from .errors import ScenarioError
from .hvo import reason_text
from .kpageflags import kpf_names, stable_page_flags
from .machine import Machine
from .mm_types import POOL_COLUMNS, HugePage
from .pfn_column import pfn_column, pfn_error
from .replay import boot, replay
from .scenario import Scenario
from .sections import for_each_present_section, nr_present_sections
from .tables import Tables
from .units import hexs

__all__ = ["evaluate", "EvaluatedMachine", "BlockSpan", "FIXED_POINT_WHY", "implementation", "MAX_BINS", "MAX_RESOLVE"]


FIXED_POINT_WHY = {
    "boot": ("harmless: the boot memmap lives in memblock-reserved memory that is never hot-removed, "
             "never given to the buddy allocator and never part of a huge page, so nothing can free the "
             "page that describes itself"),
    "self_hosted": ("the reason HVO must refuse here (PageVmemmapSelfHosted): the block's memmap lives in "
                    "the block (altmap), so freeing vmemmap pages of huge pages inside it would hand the "
                    "block's own memmap frames to the buddy allocator"),
}


def implementation(name: str | None = None) -> str:
    """The implementation `evaluate(impl=name)` would use: "cython" or "python"."""
    return _impl.pick(name)[0].IMPLEMENTATION


def evaluate(scenario: dict | Scenario, impl: str | None = None,
             budget_s: float | None = None) -> "EvaluatedMachine":
    """Validate and replay a scenario document (schema_version 1); with budget_s, refuse (OverBudget,
    a ScenarioError) a replay that would take longer. impl: "cython", "python" or None (see
    implementation())."""
    sc = scenario if isinstance(scenario, Scenario) else Scenario.model_validate(scenario)
    query, bulk = _impl.pick(impl)
    m = replay(boot(sc, Budget(budget_s), bulk))
    return EvaluatedMachine(m, query)


class BlockSpan(NamedTuple):
    """A memory block's pfn span; holds_altmap: its memmap is self-hosted at its own start."""
    id: int
    start: int
    end: int
    holds_altmap: bool


class EvaluatedMachine:
    """A replayed machine with frozen query tables."""

    def __init__(self, m: Machine, query) -> None:
        self.m = m
        self.query = query
        self.tables = Tables(m, query)
        query.prepare(self.tables)       # the C lookup index: built with the tables, not by a query
        self.implementation = query.IMPLEMENTATION

    # ------------------------------------------------------------- facts of the machine
    @property
    def arch(self):
        """The architecture configuration (page size, section and PMD geometry, limits)."""
        return self.m.arch

    @property
    def max_pfn(self) -> int:
        """One past the highest pfn the architecture can address (MAX_PHYSMEM_BITS)."""
        return self.m.arch.max_phys >> self.m.arch.page_shift

    @property
    def struct_page_size(self) -> int:
        """sizeof(struct page) in bytes: struct page of pfn p sits at vmemmap_base + p * this."""
        return self.m.struct_page_size

    @property
    def block_pages(self) -> int:
        """Pages per memory block (memory_block_size_bytes() / PAGE_SIZE)."""
        return self.m.block_pages

    @property
    def nr_blocks(self) -> int:
        return len(self.m.blocks)

    @property
    def nr_hugepages(self) -> int:
        """Live huge pages."""
        return self.m.hugetlb.nr_alive

    # ------------------------------------------------------------- huge pages by number
    # Live huge pages are numbered in head order (0 .. nr_hugepages - 1: a resolve's `hugepage`
    # column); the tables hold them as runs, hp_first[r] being the number of run r's first page.
    def _hugepage_at(self, n: int) -> HugePage:
        """Live huge page number n."""
        t = self.tables
        r = bisect_right(t.hp_first, n) - 1
        return self.m.hugetlb.page(t.hp_idx[r], n - t.hp_first[r])

    def _hugepage_number(self, head_pfn: int) -> int:
        """The number of the live huge page with this head pfn, or -1 (a bisection of the runs)."""
        t = self.tables
        r = bisect_right(t.hp_head, head_pfn) - 1
        if r < 0:
            return -1
        k, off = divmod(head_pfn - t.hp_head[r], 1 << t.hp_order[r])
        return t.hp_first[r] + k if not off and k < t.hp_count[r] else -1

    @property
    def nr_events(self) -> int:
        return len(self.m.events)

    @property
    def nbytes(self) -> int:
        """An estimate of the memory the query tables and the replayed state hold, in bytes."""
        t, m = self.tables, self.m
        cols = [v for v in vars(t).values() if isinstance(v, array)]
        hp = sum(len(getattr(m.hugetlb, c)) * 8 for c in POOL_COLUMNS)
        return 4096 + sum(c.itemsize * len(c) for c in cols) + hp + 400 * len(m.blocks) + 200 * len(m.events)

    def block_spans(self, start_pfn: int, end_pfn: int) -> list[BlockSpan]:
        """The memory blocks overlapping [start_pfn, end_pfn), in order."""
        return [BlockSpan(b.id, b.start, b.end, b.memmap_where == "self" and b.altmap_base == b.start)
                for b in self.m.blocks_in(start_pfn, end_pfn)]

    def pfn_ranges(self) -> dict[str, tuple[int, int] | None]:
        """The pfn span of all memory blocks and of the hot-added ones."""
        blocks = self.m.sorted_blocks()
        hot = [b for b in blocks if not b.boot]
        span = lambda bs: (min(b.start for b in bs), max(b.end for b in bs)) if bs else None  # noqa: E731
        return {"all": span(blocks), "hotplug": span(hot)}

    def check_pfns(self, pfns: Iterable[int], field: str = "pfns") -> None:
        """ScenarioError at (field, k) for the first pfn that is negative or beyond the physical
        address limit."""
        limit = self.max_pfn
        for k, p in enumerate(pfns):
            if p < 0 or p >= limit:
                raise pfn_error(self.m.arch, field, k, p)

    # ------------------------------------------------------------- pfn queries
    def _check_pfn(self, pfn: int, where: str) -> None:
        if pfn < 0 or pfn >= self.max_pfn:
            raise ScenarioError((where,), f"pfn {hex(pfn)} is beyond the physical address limit")

    def resolve_columns(self, pfns: Iterable[int]) -> dict[str, array]:
        """Columnar resolve (the hot path): see _query_py.resolve_columns. `pfns` is any 1-D C-contiguous
        buffer of 64-bit integers (numpy int64/uint64, array('q'), memoryview; read-only too), read
        in place, or a list or iterable of ints. The columns are array.array objects: np.asarray
        wraps them without a copy."""
        return self.query.resolve_columns(self.tables, self.pfn_column(pfns))

    # ------------------------------------------------------------- zero-copy pfn input
    def pfn_column(self, pfns: Iterable[int], field: str = "pfns") -> memoryview:
        """`pfns` as a 1-D memoryview of format 'q', checked (engine/pfn_column.py)."""
        return pfn_column(pfns, self.m.arch, field)

    def resolve(self, pfns: Iterable[int]) -> list[dict[str, Any]]:
        """pfn -> struct page -> backing pfn, with role, zone, block, section and huge page."""
        pfns = list(pfns)
        for p in pfns:
            self._check_pfn(p, "pfns")
        cols = self.resolve_columns(pfns)
        m, t, a = self.m, self.tables, self.m.arch
        out = []
        for k, pfn in enumerate(pfns):
            pi, hi, b = cols["present"][k], cols["hugepage"][k], cols["backing"][k]
            hp = None
            if hi >= 0:
                p = self._hugepage_at(hi)
                hp = {"head_pfn": hex(p.head), "size": m.size_str(p.order),
                      "hvo": HVO_STATES[p.state], "reason": reason_text(m, p)}
            blk = m.block_of(pfn)
            out.append({
                "pfn": hex(pfn), "phys_addr": hex(pfn << a.page_shift),
                "node": t.pr_node[pi] if pi >= 0 else (blk.node if blk else None),
                "zone": (ZONE_NAMES[t.pr_zone[pi]] or None) if pi >= 0 else None,
                "block": blk.id if blk else None,
                "section": pfn >> a.pfn_section_shift,
                "state": STATE_NAMES[t.pr_state[pi]] if pi >= 0 else "absent",
                "struct_page_vaddr": hex(m.pfn_to_page(pfn)) if pfn >= m.pfn_offset else None,
                "backing_pfn": hexs(b) if b >= 0 else None,
                "mapping": MAPPINGS[cols["mapping"][k]],
                "role": ROLES[cols["role"][k]][0],
                "self_hosted": bool(cols["self_hosted"][k]),
                "maps_to_itself": b == pfn,
                **self._kpageflags(pfn, cols["role"][k]),
                "hugepage": hp,
            })
        return out

    def _kpageflags(self, pfn: int, role: int) -> dict[str, Any]:
        flags = stable_page_flags(self.m, pfn, role)
        return {"kpageflags": hex(flags), "kpageflags_names": kpf_names(flags)}

    def sections(self, offset: int = 0, limit: int | None = None, start_pfn: int | None = None) -> dict[str, Any]:
        """Present memory sections in pfn order (crash's kmem -n): number, pfn range, mem_map address,
        memory block, node and section_mem_map flags; with their total, for paging. With start_pfn,
        offset counts from the first present section that ends above it."""
        if start_pfn is not None:
            offset += nr_present_sections(self.m, below=start_pfn)
        rows = [{**r, "start_pfn": hex(r["start_pfn"]), "end_pfn": hex(r["end_pfn"]),
                 "mem_map": hexs(r["mem_map"]) if r["mem_map"] is not None else None,
                 "flag_bits": hex(r["flag_bits"])}
                for r in for_each_present_section(self.m, offset, limit)]
        return {"total": nr_present_sections(self.m), "offset": offset, "sections": rows}

    def fixed_points(self, start_pfn: int = 0, end_pfn: int | None = None) -> list[dict[str, Any]]:
        """Every pfn whose struct page lies in the page it describes (pfn_to_page(pfn) backed by pfn), in
        pfn order, with the memory block and node, and whose memmap it is (boot memblock buffer,
        self-hosted altmap, buddy); FIXED_POINT_WHY says why each kind matters or not. Only those in
        [start_pfn, end_pfn) when given (a large machine has one per self-hosted block)."""
        m = self.m
        S, shift, off, ps = m.struct_page_size, m.arch.page_shift, m.pfn_offset, m.arch.page_size

        def gap(p: int) -> int:                   # p - vpage(p): never decreases as p grows
            return p - (((p - off) * S) >> shift)

        def solve(lo: int, hi: int, want: int) -> list[int]:
            """The p in [lo, hi) with gap(p) == want."""
            if ps % S == 0 and ps > S:            # x - x // q == w, x = p - off: at most two x
                q, w = ps // S, want - off
                xs = [q * t + w - (q - 1) * t for t in (w // (q - 1), w // (q - 1) - 1)]
                return [x + off for x in xs if 0 <= x - q * (x // q) < q and lo <= x + off < hi
                        and gap(x + off) == want]
            a, z = lo, hi
            while a < z:
                mid = (a + z) // 2
                a, z = (mid + 1, z) if gap(mid) < want else (a, mid)
            return [p for p in range(a, min(a + 2 + ps // S, hi)) if gap(p) == want]

        end = self.max_pfn if end_pfn is None else end_pfn
        cands = set()
        for runs in (m.vmemmap, m.overlay):
            for vs, ve, b in zip(runs.vstart, runs.vend, runs.backing):
                lo, hi = off + -(-(vs << shift) // S), off + -(-(ve << shift) // S)
                lo, hi = max(lo, b, start_pfn), min(hi, b + ve - vs, end)
                if lo < hi:                           # its frames lie among the pfns it describes
                    cands.update(solve(lo, hi, b - vs))   # backing(v) == p
        pfns = sorted(cands)
        cols = self.resolve_columns(pfns)
        out = []
        for k, p in enumerate(pfns):
            if cols["backing"][k] != p:
                continue
            b = m.block_of(p)
            role = ROLES[cols["role"][k]][0]
            kind = {"memmap_boot": "boot", "memmap_self": "self_hosted"}.get(role, role)
            out.append({"pfn": hex(p), "node": b.node if b else None, "block": b.id if b else None,
                        "memmap": kind})
        return out

    # ------------------------------------------------------------- resolve() as columns (bulk answers)
    def resolve_fields(self, pfns: Iterable[int]) -> dict[str, Any]:
        """Every field of resolve() as one column per field, for bulk answers (REST "columns"):
        integers as ints, enums as codes named by `legend` (zone 0 and mapping 0 are None, state
        0 is "absent"), None where resolve() says null; `hugepage` indexes the `hugepages` table
        (its fields as columns too), and `derived` gives the constants of the fields that are
        arithmetic of the pfn (phys_addr = pfn << page_shift, section = pfn >> section_shift,
        struct_page_vaddr = vmemmap_base + (pfn - memstart_pfn) * struct_page_size for pfns from
        memstart_pfn on)."""
        col = self.pfn_column(pfns)
        cols = self.query.resolve_columns(self.tables, col)
        m, t = self.m, self.tables
        pfn, present, backing = col.tolist(), cols["present"].tolist(), cols["backing"].tolist()
        # indexed by present range, with the value for "no range" at index -1 (the last element)
        zone, state, node = [*t.pr_zone, 0], [*t.pr_state, 0], [*t.pr_node, None]
        bp, block_node = m.block_pages, {b.id: b.node for b in m.blocks.values()}
        block = [p // bp if p // bp in block_node else None for p in pfn]
        seen: dict[int, int] = {}
        hugepage = [None if hi < 0 else seen.setdefault(hi, len(seen)) for hi in cols["hugepage"]]
        pages = [self._hugepage_at(hi) for hi in seen]
        return {
            "pfn": pfn, "node": [node[i] if i >= 0 else block_node.get(b) for i, b in zip(present, block)],
            "zone": [zone[i] for i in present], "block": block, "state": [state[i] for i in present],
            "backing_pfn": [b if b >= 0 else None for b in backing], "mapping": cols["mapping"].tolist(),
            "role": cols["role"].tolist(), "self_hosted": cols["self_hosted"].tolist(),
            "maps_to_itself": list(bytes(map(operator.eq, backing, pfn))), "hugepage": hugepage,
            "kpageflags": [stable_page_flags(m, p, r) for p, r in zip(pfn, cols["role"])],
            "hugepages": {"head_pfn": [p.head for p in pages], "size": [m.size_str(p.order) for p in pages],
                          "hvo": [HVO_STATES[p.state] for p in pages],
                          "reason": [reason_text(m, p) for p in pages]},
            "legend": {"zone": [z or None for z in ZONE_NAMES], "state": ["absent", *STATE_NAMES[1:]],
                       "mapping": list(MAPPINGS), "role": [name for name, _ in ROLES],
                       "kpageflags": dict(KPF)},
            "derived": {"page_shift": m.arch.page_shift, "section_shift": m.arch.pfn_section_shift,
                        "vmemmap_base": m.vmemmap_start, "memstart_pfn": m.pfn_offset,
                        "struct_page_size": m.struct_page_size},
        }

    def chain(self, pfn: int, limit: int = 16) -> list[dict[str, Any]]:
        """pfn -> struct page -> backing pfn -> its struct page ... until a fixed point or no memmap."""
        seen, out = set(), []
        while pfn not in seen and len(out) < limit:
            seen.add(pfn)
            r = self.resolve([pfn])[0]
            out.append({"pfn": r["pfn"], "struct_page_vaddr": r["struct_page_vaddr"],
                        "backing_pfn": r["backing_pfn"], "role": r["role"]})
            if r["backing_pfn"] is None:
                break
            pfn = int(r["backing_pfn"], 16)
        return out

    def vmemmap(self, block: int | None = None, head_pfn: int | None = None) -> dict[str, Any]:
        """The vmemmap pages of one memory block or one huge page: for each, the pfns whose struct
        pages it holds, the frame backing it now (after HVO remaps) and originally, PMD or PTE, and
        for an optimised huge page whether it was kept or remapped read-only (its frame freed)."""
        m, a = self.m, self.m.arch
        hp = None
        if head_pfn is not None:
            n = self._hugepage_number(head_pfn)
            if n < 0:
                raise ScenarioError(("head_pfn",), f"no live huge page has head pfn {hex(head_pfn)}")
            hp = self._hugepage_at(n)
            s, e = head_pfn, head_pfn + (1 << hp.order)
            target = {"kind": "hugepage", "head_pfn": hex(head_pfn), "size": m.size_str(hp.order),
                      "hvo": HVO_STATES[hp.state], "reason": reason_text(m, hp),
                      "freed_pages": hp.freed, **listings.tail_target(m, hp)}
        elif block is not None:
            b = m.blocks.get(block)
            if b is None:
                raise ScenarioError(("block",), f"memory{block} does not exist")
            s, e = b.start, b.end
            target = {"kind": "block", "block": b.id, "name": f"memory{b.id}", "start_pfn": hex(s),
                      "end_pfn": hex(e), "memmap_where": b.memmap_where}
        else:
            raise ScenarioError(("block",), "give a block or a head_pfn")
        if s < m.pfn_offset:
            raise ScenarioError(("block",), "below memstart: no struct pages in the vmemmap")
        sp, ps = m.struct_page_size, a.page_size
        v0, v1 = m.vpage_of(s), m.vpage_of(e - 1) + 1
        firsts = [max(s, m.pfn_offset + -(-(v * ps) // sp)) for v in range(v0, v1)]
        cols = self.resolve_columns(firsts)
        optimized = hp is not None and hp.state == HVO_OPTIMIZED
        nkeep = hp.nkeep if optimized else 0
        pages = []
        for k, v in enumerate(range(v0, v1)):
            orig = m.backing_of_vpage(v)[0]
            now = cols["backing"][k]
            first = firsts[k]
            last = min(e, m.pfn_offset + ((v + 1) * ps - 1) // sp + 1) - 1
            if optimized:
                state = "head" if k == 0 else ("kept" if k < nkeep else "remapped_ro")
                if k == 0 and now != orig:
                    state = "head_copied"
            else:
                state = "mapped" if now >= 0 else "unmapped"
            pages.append({"index": k, "vaddr": hex(m.vmemmap_start + v * ps), "first_pfn": hex(first),
                          "last_pfn": hex(last), "backing_pfn": hexs(now) if now >= 0 else None,
                          "original_pfn": hexs(orig) if orig >= 0 else None,
                          "mapping": MAPPINGS[cols["mapping"][k]], "self_hosted": bool(cols["self_hosted"][k]),
                          "freed": optimized and now != orig, "state": state})
        return {"target": target, "pages": pages}

    def window(self, start_pfn: int, end_pfn: int, bins: int) -> dict[str, Any]:
        """Per-bin page counts by role over [start_pfn, end_pfn), columnar for plotting."""
        if end_pfn <= start_pfn:
            raise ScenarioError(("end_pfn",), "must be greater than start_pfn")
        self._check_pfn(end_pfn - 1, "end_pfn")
        if not 1 <= bins <= MAX_BINS:
            raise ScenarioError(("bins",), f"must be between 1 and {MAX_BINS}")
        bins = min(bins, end_pfn - start_pfn)
        counts, dominant = self.query.window_counts(self.tables, start_pfn, end_pfn, bins, len(ROLES))
        return {"start_pfn": start_pfn, "end_pfn": end_pfn, "bins": bins,
                "roles": [ROLES[r][0] for r in range(len(ROLES))],
                "dominant": dominant, "counts": {ROLES[r][0]: c for r, c in counts.items()}}

    # ------------------------------------------------------------- figures: cheap look-ups (issue 15)
    @property
    def kernel(self) -> str:
        """The modelled kernel release, e.g. "6.12"."""
        return self.m.kernel.version

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.m.scenario.name

    def hugepage_heads(self, start_pfn: int, end_pfn: int, limit: int = 1) -> list[int]:
        """Head pfns of up to `limit` live huge pages with their head in [start_pfn, end_pfn), lowest
        first: a bisection of the sorted runs, so an empty range costs O(log n), not a listing."""
        t = self.tables
        r = max(bisect_right(t.hp_head, start_pfn) - 1, 0)
        out: list[int] = []
        while r < len(t.hp_head) and t.hp_head[r] < end_pfn and len(out) < limit:
            h, nr = t.hp_head[r], 1 << t.hp_order[r]
            for k in range(max(0, -(-(start_pfn - h) // nr)), t.hp_count[r]):
                if h + k * nr >= end_pfn or len(out) == limit:
                    break
                out.append(h + k * nr)
            r += 1
        return out

    def hugepage(self, head_pfn: int) -> dict[str, Any] | None:
        """The live huge page with this head pfn, shaped as in hugepages(), or None (bisection)."""
        n = self._hugepage_number(head_pfn)
        return self.hugepages(n, 1)[0] if n >= 0 else None

    # ------------------------------------------------------------- listings (engine/listings.py)
    def blocks(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Memory blocks by id, with lsmem's columns, their memmap placement and self-mapping pfn."""
        return listings.blocks(self.m, offset, limit)

    def hugepages(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """The live huge pages from number `offset` on (head order), at most `limit` of them."""
        return listings.hugepages(self.m, self.tables, offset, limit)

    def shared_tails(self) -> list[dict[str, Any]]:
        """7.1+: each zone's shared page of tail struct pages per huge page order (zone->vmemmap_tails[]),
        one page each, allocated on first use and never freed."""
        return listings.shared_tails(self.m, self.tables)

    def events(self) -> list[dict[str, Any]]:
        return list(self.m.events)

    def summary(self) -> dict[str, Any]:
        """Totals in pages and bytes: present/managed memory, memmap, self-hosted, HVO."""
        if self._summary is not None:
            return copy.deepcopy(self._summary)
        self._summary = self._compute_summary()
        return copy.deepcopy(self._summary)

    def _compute_summary(self) -> dict[str, Any]:
        return listings.summary(self.m, self.tables, self.implementation)

    # summary() walks every run of live huge pages and every block: computed once, on an engine
    # thread inside the evaluation's budget, and every later call returns a copy
    _summary: dict[str, Any] | None = None
