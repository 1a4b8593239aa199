"""What /evaluate lists of a replayed machine: its memory blocks (lsmem's columns, where each block's
memmap lives and how it is mapped), its live huge pages (HVO state and why, where their tails map), each
zone's shared tail pages (7.1+) and the totals. Functions of the machine and its query tables, read by
EvaluatedMachine (engine/api.py)."""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from typing import Any

from .codes import HVO_OPTIMIZED, HVO_STATES, MAPPINGS, PMD, ROLES
from .hvo import reason_text, shared_tail_key, vmemmap_pages
from .machine import Machine
from .mm_types import Block, HugePage
from .tables import Tables
from .units import format_size, hexs

__all__ = ["blocks", "hugepages", "shared_tails", "summary", "tail_target"]


def blocks(m: Machine, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    """Memory blocks by id, with their memmap placement and self-mapping pfn."""
    a = m.arch
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
            "memmap": _memmap_of(m, b, where, first),
            "memmap_on_memory": {"used": b.mmo_used, "reason": b.mmo_reason},
            "self_mapping_pfn": self_map, "hazards": list(b.hazards),
            **_lsmem_columns(m, b),
        })
    return out


# --- lsmem's columns (RANGE, SIZE, STATE, REMOVABLE, BLOCK, NODE, ZONES): the fields it has and
# blocks() did not; SIZE, STATE, NODE are size/state/node, BLOCK is id (classroom, issue 14 §6)
def _lsmem_columns(m: Machine, b: Block) -> dict[str, Any]:
    shift = m.arch.page_shift
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


def _memmap_of(m: Machine, b: Block, where: str, altmap_base: int | None) -> dict[str, Any]:
    v0 = m.vpage_of(b.start)
    v1 = -(-((b.end - m.pfn_offset) * m.struct_page_size) // m.arch.page_size)
    frames, maps, start = 0, set(), None
    g = m.arch.ptrs_per_pte
    v = v0
    while v < v1:
        f, _, mp = m.backing_of_vpage(v)
        i = m.vmemmap.find(v)
        nxt = min(m.vmemmap.vend[i] if i >= 0 else v + 1, v1)
        if f >= 0:
            start = f if start is None else start
            if mp == PMD:          # a PMD that HVO split is mapped by PTEs now
                pmds = range(v // g, (nxt - 1) // g + 1)
                split = sum(1 for p in pmds if p in m.split_pmds)
                maps.update(["pte"] * bool(split) + ["pmd"] * (split < len(pmds)))
            else:
                maps.add(MAPPINGS[mp])
        frames += nxt - v
        v = nxt
    mapping = "/".join(sorted(x for x in maps if x)) or None
    if where == "self" and altmap_base is not None:
        used = b.nr_vmemmap_used or (b.nr_pages * m.struct_page_size >> m.arch.page_shift)
        # with one altmap for a range (altmap_scope "range") a later block's struct pages sit inside
        # the first block's altmap, after those before it: where its first struct page is backed
        first = m.backing_of_vpage(m.vpage_of(b.start))[0]
        start = first if first >= 0 else altmap_base
        return {"where": "self", "start_pfn": hex(start), "nr_pages": used,
                "reserved_pages": b.nr_vmemmap, "mapping": mapping, "holder_block": start // m.block_pages}
    return {"where": where, "start_pfn": hexs(start), "nr_pages": frames, "mapping": mapping}


def hugepages(m: Machine, t: Tables, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    """The live huge pages from number `offset` on (head order), at most `limit` of them."""
    alive = m.hugetlb.nr_alive
    end = alive if limit is None else min(alive, offset + limit)
    out = []
    n = offset
    r = bisect_right(t.hp_first, offset) - 1
    while n < end:
        i, k = t.hp_idx[r], n - t.hp_first[r]
        for k in range(k, min(t.hp_count[r], k + end - n)):
            p = m.hugetlb.page(i, k)
            b = m.block_of(p.head)
            out.append({"head_pfn": hex(p.head), "size": m.size_str(p.order), "block": b.id if b else None,
                        "node": p.node, "hvo": HVO_STATES[p.state],
                        "reason": reason_text(m, p), "vmemmap_pages": vmemmap_pages(m, p.order),
                        "freed_pages": p.freed, "pmd_splits": p.splits,
                        "vmemmap_vaddr": hex(m.pfn_to_page(p.head)), **tail_target(m, p)})
            n += 1
        r += 1
    return out


def tail_target(m: Machine, p: HugePage) -> dict[str, Any]:
    """Where an optimised page's tail vmemmap pages map: its own kept frame, or (7.1+) the
    zone's shared tail page."""
    if p.state != HVO_OPTIMIZED:
        return {"tail_pfn": None, "tails_shared": False}
    return {"tail_pfn": hex(p.tail), "tails_shared": shared_tail_key(m, p.tail) is not None}


def shared_tails(m: Machine, t: Tables) -> list[dict[str, Any]]:
    """7.1+: each zone's shared page of tail struct pages per huge page order (zone->vmemmap_tails[]),
    one page each, allocated on first use and never freed."""
    return [{"node": node, "zone": zone, "order": order, "size": m.size_str(order), "pfn": hex(pfn),
             "users": _tail_users(m, t, pfn)}
            for (node, zone, order), pfn in sorted(m.vmemmap_tails.items())]


def _tail_users(m: Machine, t: Tables, pfn: int) -> int:
    """Optimised live huge pages whose tail vmemmap pages map frame pfn."""
    hp, users = m.hugetlb, 0
    for i in t.hp_idx:
        if hp.state[i] != HVO_OPTIMIZED:
            continue
        t0, step, n = hp.tail[i], hp.tail_step[i], hp.count[i]
        if n == 1 or step == 0:
            users += n if t0 == pfn else 0
        elif (pfn - t0) % step == 0 and 0 <= (pfn - t0) // step < n:
            users += 1
    return users



def summary(m: Machine, t: Tables, implementation: str) -> dict[str, Any]:
    """Totals in pages and bytes: present/managed memory, memmap, self-hosted, HVO, shared tails."""
    a = m.arch
    online = sum(b.present_pages() for b in m.blocks.values() if b.state == "online")
    offline = sum(b.present_pages() for b in m.blocks.values() if b.state != "online")
    role_pages = {ROLES[r][0]: 0 for r in range(len(ROLES))}
    for s, e, r in zip(t.rl_start, t.rl_end, t.rl_role):
        role_pages[ROLES[r][0]] += e - s
    reserved_online = sum(b.nr_vmemmap for b in m.blocks.values() if b.state == "online")
    managed = online - reserved_online - m.boot_memmap_pages + m.boot_memmap_freed
    hp = m.hugetlb
    by_size: dict[str, dict[str, int]] = {}
    # pages by (order, state), in order of first appearance, and HVO's frees: a run at a time
    pairs: Counter = Counter()
    freed = hugetlb_pages = 0
    for i in t.hp_idx:
        n = hp.count[i]
        pairs[hp.order[i], hp.state[i]] += n
        freed += n * hp.freed[i]
        hugetlb_pages += n << hp.order[i]
    for (order, state), n in pairs.items():
        d = by_size.setdefault(m.size_str(order), {s: 0 for s in HVO_STATES})
        d[HVO_STATES[state]] += n
    memmap = (role_pages["memmap_boot"] + role_pages["memmap_buddy"] + role_pages["memmap_self"]
              + role_pages["vmemmap_hvo_head"] + role_pages["vmemmap_restored"])
    ps = a.page_size
    return {
        "arch": a.key, "kernel": m.kernel.version, "page_size": format_size(ps),
        "memory_block_size": format_size(m.block_size), "implementation": implementation,
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
        "hvo_shared_tails": shared_tails(m, t), "hvo_shared_tail_pages": len(m.vmemmap_tails),
        "role_pages": role_pages,
    }
