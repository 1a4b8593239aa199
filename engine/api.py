"""The engine's public API: evaluate a scenario, then ask about pfns, windows and totals.

Shapes match the REST API: 64-bit values as 0x-prefixed lower-case hex strings, sizes in the short
form ("2M"), blocks by id (the N of memoryN).
"""
from __future__ import annotations

from array import array
from typing import Any, Iterable, NamedTuple

from . import _impl, hvo
from .budget import Budget
from .errors import ScenarioError
from .machine import Machine
from .roles import MAPPINGS, ROLES
from .scenario import Scenario
from .tables import STATE_NAMES, ZONE_NAMES, Tables
from .units import format_size, hexs

__all__ = ["evaluate", "EvaluatedMachine", "BlockSpan", "implementation", "MAX_BINS", "MAX_RESOLVE"]

MAX_BINS = 1_000_000
MAX_RESOLVE = 1_000_000


def implementation(name: str | None = None) -> str:
    return _impl.load(name).IMPLEMENTATION


def evaluate(scenario: dict | Scenario, impl: str | None = None,
             budget_s: float | None = None) -> "EvaluatedMachine":
    """Validate and replay a scenario document (schema_version 1); with budget_s, refuse (OverBudget,
    a ScenarioError) a replay that would take longer."""
    sc = scenario if isinstance(scenario, Scenario) else Scenario.model_validate(scenario)
    core = _impl.load(impl)
    m = Machine(sc, Budget(budget_s), core)
    m.replay()
    return EvaluatedMachine(m, core)


class BlockSpan(NamedTuple):
    """A memory block's pfn span; holds_altmap: its memmap is self-hosted at its own start."""
    id: int
    start: int
    end: int
    holds_altmap: bool


class EvaluatedMachine:
    """A replayed machine with frozen query tables."""

    def __init__(self, m: Machine, core) -> None:
        self.m = m
        self.core = core
        self.tables = Tables(m, core)
        core.prepare(self.tables)        # the core's lookup index: built with the tables, not by a query
        self.implementation = core.IMPLEMENTATION

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
    def block_pages(self) -> int:
        """Pages per memory block (memory_block_size_bytes() / PAGE_SIZE)."""
        return self.m.block_pages

    @property
    def nr_blocks(self) -> int:
        return len(self.m.blocks)

    @property
    def nr_hugepages(self) -> int:
        """Live huge pages."""
        return len(self.tables.hp_idx)

    @property
    def nr_events(self) -> int:
        return len(self.m.events)

    @property
    def nbytes(self) -> int:
        """An estimate of the memory the query tables and the replayed state hold, in bytes."""
        t, m = self.tables, self.m
        cols = [v for v in vars(t).values() if isinstance(v, array)]
        hp = sum(len(getattr(m.hugetlb, c)) * 8 for c in ("head", "order", "node", "state", "reason", "detail",
                                                         "v0", "tail", "nkeep", "freed", "splits", "alive"))
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
        """ScenarioError at (field, k) for the first pfn beyond the physical address limit."""
        a, limit = self.m.arch, self.max_pfn
        for k, p in enumerate(pfns):
            if p < 0 or p >= limit:
                raise ScenarioError((field, k), f"pfn {hex(p)} is beyond the physical address limit "
                                    f"of {a.key} ({a.max_physmem_bits} bits)")

    # ------------------------------------------------------------- pfn queries
    def _check_pfn(self, pfn: int, where: str) -> None:
        if pfn < 0 or pfn >= self.max_pfn:
            raise ScenarioError((where,), f"pfn {hex(pfn)} is beyond the physical address limit")

    def resolve_columns(self, pfns: Iterable[int]) -> dict[str, array]:
        """Columnar resolve (the hot path): see _twin.resolve_columns."""
        arr = pfns if isinstance(pfns, array) and pfns.typecode == "q" else array("q", pfns)
        return self.core.resolve_columns(self.tables, arr)

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
                i = t.hp_idx[hi]
                hp = {"head_pfn": hex(m.hugetlb.head[i]), "size": m.size_str(m.hugetlb.order[i]),
                      "hvo": hvo.HVO_STATES[m.hugetlb.state[i]], "reason": hvo.reason_text(m, i)}
            blk = m.block_of(pfn)
            out.append({
                "pfn": hex(pfn), "phys_addr": hex(pfn << a.page_shift),
                "node": t.pr_node[pi] if pi >= 0 else (blk.node if blk else None),
                "zone": (ZONE_NAMES[t.pr_zone[pi]] or None) if pi >= 0 else None,
                "block": blk.id if blk else None,
                "section": pfn >> a.pfn_section_shift,
                "state": STATE_NAMES[t.pr_state[pi]] if pi >= 0 else "absent",
                "struct_page_vaddr": hex(m.struct_page_vaddr(pfn)) if pfn >= m.pfn_offset else None,
                "backing_pfn": hexs(b) if b >= 0 else None,
                "mapping": MAPPINGS[cols["mapping"][k]],
                "role": ROLES[cols["role"][k]][0],
                "self_hosted": bool(cols["self_hosted"][k]),
                "maps_to_itself": b == pfn,
                "hugepage": hp,
            })
        return out

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
        hp_i = None
        if head_pfn is not None:
            hits = [i for i in self.tables.hp_idx if m.hugetlb.head[i] == head_pfn]
            if not hits:
                raise ScenarioError(("head_pfn",), f"no live huge page has head pfn {hex(head_pfn)}")
            hp_i = hits[0]
            s, e = head_pfn, head_pfn + (1 << m.hugetlb.order[hp_i])
            target = {"kind": "hugepage", "head_pfn": hex(head_pfn), "size": m.size_str(m.hugetlb.order[hp_i]),
                      "hvo": hvo.HVO_STATES[m.hugetlb.state[hp_i]], "reason": hvo.reason_text(m, hp_i),
                      "freed_pages": m.hugetlb.freed[hp_i]}
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
        optimized = hp_i is not None and m.hugetlb.state[hp_i] == 1
        nkeep = m.hugetlb.nkeep[hp_i] if optimized else 0
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
        counts, dominant = self.core.window_counts(self.tables, start_pfn, end_pfn, bins, len(ROLES))
        return {"start_pfn": start_pfn, "end_pfn": end_pfn, "bins": bins,
                "roles": [ROLES[r][0] for r in range(len(ROLES))],
                "dominant": dominant, "counts": {ROLES[r][0]: c for r, c in counts.items()}}

    # ------------------------------------------------------------- listings
    def blocks(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Memory blocks by id, with their memmap placement and self-mapping pfn."""
        m, a = self.m, self.m.arch
        out = []
        for b in m.sorted_blocks()[offset: None if limit is None else offset + limit]:
            first = b.altmap_base if b.altmap_base >= 0 else None
            self_map = None
            if b.memmap_where == "self":
                v = m.vpage_of(b.start)
                if m.backing_of_vpage(v)[0] == b.start:
                    self_map = hex(b.start)
            where = {"memblock": "memblock", "buddy": "buddy", "self": "self"}.get(b.memmap_where, "self")
            out.append({
                "id": b.id, "name": f"memory{b.id}", "start": hex(b.start << a.page_shift),
                "size": format_size(b.nr_pages << a.page_shift), "start_pfn": hex(b.start),
                "end_pfn": hex(b.end), "node": b.node, "state": b.state, "zone": b.zone,
                "boot": b.boot, "present_pages": b.present_pages(),
                "memmap": self._memmap_of(b, where, first),
                "memmap_on_memory": {"used": b.mmo_used, "reason": b.mmo_reason},
                "self_mapping_pfn": self_map, "hazards": list(b.hazards),
                **self._lsmem_columns(b),
            })
        return out

    # --- lsmem's columns (RANGE, SIZE, STATE, REMOVABLE, BLOCK, NODE, ZONES): the fields it has and
    # blocks() did not; SIZE, STATE, NODE are size/state/node, BLOCK is id (classroom, issue 14 §6)
    def _lsmem_columns(self, b) -> dict[str, Any]:
        shift = self.m.arch.page_shift
        zone = b.zone if b.state == "online" else None
        return {
            "range": f"0x{b.start << shift:016x}-0x{(b.end << shift) - 1:016x}",
            # sysfs `removable` is 1 for every block since "drivers/base/memory.c: indicate all memory
            # blocks as removable" (v5.7)
            "removable": True,
            # valid_zones of an online block: its zone, or "none" when it spans several (lsmem: None);
            # the candidates of an offline block are not modelled
            "zones": None if zone is None else ("None" if "+" in zone else zone),
        }

    def _memmap_of(self, b, where: str, altmap_base: int | None) -> dict[str, Any]:
        m = self.m
        if where == "self" and altmap_base is not None:
            used = b.nr_vmemmap_used or (b.nr_pages * m.struct_page_size >> m.arch.page_shift)
            # with one altmap for a range (altmap_scope "range") a later block's struct pages sit inside
            # the first block's altmap, after those before it: where its first struct page is backed
            first = m.backing_of_vpage(m.vpage_of(b.start))[0]
            start = first if first >= 0 else altmap_base
            return {"where": "self", "start_pfn": hex(start), "nr_pages": used,
                    "reserved_pages": b.nr_vmemmap, "mapping": "pmd" if m.arch.vmemmap_pmd else "pte",
                    "holder_block": start // m.block_pages}
        v0 = m.vpage_of(b.start)
        v1 = -(-((b.end - m.pfn_offset) * m.struct_page_size) // m.arch.page_size)
        frames, maps, start = 0, set(), None
        v = v0
        while v < v1:
            f, _, mp = m.backing_of_vpage(v)
            i = m.vmemmap.find(v)
            nxt = m.vmemmap.vend[i] if i >= 0 else v + 1
            if f >= 0:
                start = f if start is None else start
                maps.add(MAPPINGS[mp])
            frames += min(nxt, v1) - v
            v = nxt
        return {"where": where, "start_pfn": hexs(start), "nr_pages": frames,
                "mapping": "/".join(sorted(x for x in maps if x)) or None}

    def hugepages(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        m, hp = self.m, self.m.hugetlb
        t = self.tables
        idx = t.hp_idx[offset: None if limit is None else offset + limit]
        out = []
        for i in idx:
            head, order = hp.head[i], hp.order[i]
            n = hvo.vmemmap_pages(m, order)
            b = m.block_of(head)
            out.append({"head_pfn": hex(head), "size": m.size_str(order), "block": b.id if b else None,
                        "node": hp.node[i], "hvo": hvo.HVO_STATES[hp.state[i]],
                        "reason": hvo.reason_text(m, i), "vmemmap_pages": n,
                        "freed_pages": hp.freed[i], "pmd_splits": hp.splits[i],
                        "vmemmap_vaddr": hex(m.struct_page_vaddr(head))})
        return out

    def events(self) -> list[dict[str, Any]]:
        return list(self.m.events)

    def summary(self) -> dict[str, Any]:
        """Totals in pages and bytes: present/managed memory, memmap, self-hosted, HVO."""
        m, a, t = self.m, self.m.arch, self.tables
        online = sum(b.present_pages() for b in m.blocks.values() if b.state == "online")
        offline = sum(b.present_pages() for b in m.blocks.values() if b.state != "online")
        role_pages = {ROLES[r][0]: 0 for r in range(len(ROLES))}
        for s, e, r in zip(t.rl_start, t.rl_end, t.rl_role):
            role_pages[ROLES[r][0]] += e - s
        reserved_online = sum(b.nr_vmemmap for b in m.blocks.values() if b.state == "online")
        managed = online - reserved_online - m.boot_memmap_pages + m.boot_memmap_freed
        hp = m.hugetlb
        by_size: dict[str, dict[str, int]] = {}
        for i in t.hp_idx:
            d = by_size.setdefault(m.size_str(hp.order[i]), {s: 0 for s in hvo.HVO_STATES})
            d[hvo.HVO_STATES[hp.state[i]]] += 1
        freed = sum(hp.freed[i] for i in t.hp_idx)
        hugetlb_pages = sum(1 << o for o in t.hp_order)
        memmap = (role_pages["memmap_boot"] + role_pages["memmap_buddy"] + role_pages["memmap_self"]
                  + role_pages["vmemmap_hvo_head"] + role_pages["vmemmap_restored"])
        ps = a.page_size
        return {
            "arch": a.key, "kernel": m.kernel.version, "page_size": format_size(ps),
            "memory_block_size": format_size(m.block_size), "implementation": self.implementation,
            "vmemmap_base": hex(m.vmemmap_start), "memstart": hex(m.memstart),
            "blocks": len(m.blocks), "blocks_online": sum(b.state == "online" for b in m.blocks.values()),
            "sections": len({s >> a.pfn_section_shift for b in m.blocks.values() for s, _ in b.present}),
            "present_pages": online, "offline_pages": offline, "managed_pages": managed,
            "mem_total_kb": managed * ps >> 10, "free_pages": m.buddy.nr_free() + role_pages["hvo_freed"],
            "memmap_pages": memmap, "memmap_bytes": memmap * ps,
            "self_hosted_pages": role_pages["memmap_self"] + role_pages["hvo_freed_selfhosted"],
            "hugetlb_pages": hugetlb_pages, "hugepages": by_size,
            "hvo_freed_pages": freed, "hvo_freed_bytes": freed * ps,
            "page_table_pages": role_pages["page_table"],
            "hvo_enabled": m.hvo_enabled, "dmesg": list(m.dmesg),
            "role_pages": role_pages,
        }
