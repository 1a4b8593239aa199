"""Memory blocks and their life cycle: add, online, offline, remove.

Models mm/memory_hotplug.c (add_memory_resource, online_pages, offline_pages, try_remove_memory)
and drivers/base/memory.c (create_memory_block_devices, memory_block_online/offline), with the
kernel's failure reasons. The op functions (add_memory, online, offline, remove_memory,
swapcache_page) keep the scenario's op names.
"""
from __future__ import annotations

from .arch import check_phys_range
from .buddy import GFP_MOVABLE_ZONES
from .codes import ALTMAP_RESERVED, MAX_BLOCKS, SWAPCACHE, UNMOVABLE
from .errors import ScenarioError
from .hugetlb import dissolve_free_hugetlb_folios
from .machine import Machine
from .memmap import (mhp_supports_memmap_on_memory, populate_section_memmap, vmemmap_free,
                     vmemmap_populate_altmaps)
from .mm_types import Block
from .units import human_size

__all__ = ["add_memory", "online", "offline", "remove_memory", "swapcache_page",
           "create_memory_block_devices", "online_memory_blocks", "online_pages", "offline_pages"]


def _range_blocks(m: Machine, loc: tuple, start: int, size: int) -> list[Block]:
    bsz = m.block_pages * m.arch.page_size
    if size == 0:
        raise ScenarioError(loc + ("size",), "must not be 0")
    if start % bsz:
        raise ScenarioError(loc + ("start",), f"not aligned to the {human_size(bsz)} memory block size")
    if size % bsz:
        raise ScenarioError(loc + ("size",), f"not a multiple of the {human_size(bsz)} memory block size")
    first = start // bsz
    out = []
    for bid in range(first, first + size // bsz):
        b = m.blocks.get(bid)
        if b is None:
            raise ScenarioError(loc + ("start",), f"memory{bid} does not exist "
                                f"(no memory at {hex(bid * bsz)})")
        out.append(b)
    return out


def add_memory(m: Machine, loc: tuple, op) -> dict:
    """add_memory_driver_managed()/add_memory(): create the blocks and populate their memmap."""
    if op.altmap_scope == "range" and not op.memmap_on_memory:
        raise ScenarioError(loc + ("altmap_scope",), "a shared altmap needs memmap_on_memory")
    a = m.arch
    bsz = m.block_pages * a.page_size
    if op.size == 0:
        raise ScenarioError(loc + ("size",), "must not be 0")
    if op.start % bsz or op.size % bsz:
        f = "start" if op.start % bsz else "size"
        raise ScenarioError(loc + (f,), f"not aligned to the {human_size(bsz)} memory block size "
                            f"(\"Block size [{hex(bsz)}] unaligned hotplug range\")")
    check_phys_range(a, loc, op.start, op.size)
    s_pfn, e_pfn = op.start // a.page_size, (op.start + op.size) // a.page_size
    if s_pfn < m.pfn_offset:
        raise ScenarioError(loc + ("start",), "below memstart (the linear map cannot hold it)")
    for b in m.blocks_in(s_pfn, e_pfn):
        raise ScenarioError(loc + ("start",), f"overlaps memory{b.id} "
                            f"[{hex(b.start * a.page_size)}-{hex(b.end * a.page_size - 1)}]")
    nblocks = (e_pfn - s_pfn) // m.block_pages
    if len(m.blocks) + nblocks > MAX_BLOCKS:
        raise ScenarioError(loc + ("size",), f"{nblocks} more memory blocks of {human_size(bsz)} would make "
                            f"{len(m.blocks) + nblocks}: the simulator holds at most {MAX_BLOCKS}")
    shared = op.altmap_scope == "range"
    # before 6.8 the whole range is one altmap candidate (and must be exactly one block)
    per_altmap = e_pfn - s_pfn if shared or not m.kernel.mmo_per_block_altmap else m.block_pages
    used, reason, nr_used, nr_res = mhp_supports_memmap_on_memory(m, op.memmap_on_memory, per_altmap, shared)
    bp = m.block_pages
    if used:
        bases = range(s_pfn, s_pfn + 1) if shared else range(s_pfn, e_pfn, bp)
        vmemmap_populate_altmaps(m, bases, e_pfn - s_pfn if shared else bp)
        if nr_res > nr_used:
            for base in bases:
                m.roles.assign(base + nr_used, base + nr_res, ALTMAP_RESERVED)
        where = (f"memmap_on_memory: {nr_used} pages ({human_size(nr_used * a.page_size)}) of struct "
                 f"pages self-hosted at the start of {'the range' if shared else 'each block'}"
                 + (f", {nr_res - nr_used} more reserved (force)" if nr_res > nr_used else ""))
        first_where = "self"
        others_where = f"memory{s_pfn // bp}" if shared else "self"
    else:
        notes = populate_section_memmap(m, op.node, s_pfn, e_pfn)
        if notes is None:
            return m.event("failed", f"add_memory {m.range_str(s_pfn, e_pfn)}: -ENOMEM populating the "
                           f"vmemmap (no free order-9 or order-0 pages); nothing added ({reason})")
        where = f"memmap from the buddy allocator ({', '.join(notes)}); {reason}"
        first_where = others_where = "buddy"
    def block_attrs(first: bool) -> dict:
        own = used and (first or not shared)       # holds an altmap (its own, or the range's)
        return dict(nr_pages=bp, node=op.node, boot=False, group=(s_pfn, e_pfn), mmo_used=used,
                    mmo_reason=reason, memmap_where=first_where if first else others_where,
                    altmap_base=(-1 if not used else s_pfn if shared else None),
                    nr_vmemmap=nr_res if own else 0, nr_vmemmap_used=nr_used if own else 0,
                    section_flag=used)
    blocks = create_memory_block_devices(m, range(s_pfn, e_pfn, bp), block_attrs(True), block_attrs(False))
    m.add_blocks(blocks)
    msg = f"add_memory {m.range_str(s_pfn, e_pfn)} node {op.node}: {_names(blocks)} added; {where}"
    dflt = m.params.memhp_default_state
    if dflt != "offline":
        zone = "movable" if dflt == "online_movable" else "normal"
        online_memory_blocks(m, blocks, zone)
        msg += f"; auto-onlined ({zone})"
    return m.event("ok", msg)


def create_memory_block_devices(m: Machine, bases: range, first: dict, rest: dict) -> list[Block]:
    """create_memory_block_devices(): the Block of each base pfn (the first block's attributes from
    `first`, the others' from `rest`; an altmap_base of None means the block's own start).
    C version: _replay_c.create_memory_block_devices (blocks as C structs from one template)."""
    if m.bulk is not None:
        return m.bulk.create_memory_block_devices(m, bases, first, rest)
    out = []
    for bs in bases:
        m.budget.tick()
        f = first if bs == bases.start else rest
        out.append(Block(id=bs // bases.step, start=bs, present=[(bs, bs + bases.step)],
                         **{**f, "altmap_base": bs if f["altmap_base"] is None else f["altmap_base"]}))
    return out


def online_memory_blocks(m: Machine, blocks: list[Block], zone: str) -> tuple[int, int]:
    """memory_block_online() for each block; returns the (present, managed) pages they bring.
    C version: _replay_c.online_memory_blocks (the free ranges merged per node in one pass)."""
    if m.bulk is not None:
        return m.bulk.online_memory_blocks(m, blocks, zone)
    for b in blocks:
        online_pages(m, b, zone)
    present = sum(b.present_pages() for b in blocks)
    return present, present - sum(b.nr_vmemmap for b in blocks)


def online_pages(m: Machine, b: Block, zone: str) -> None:
    """online_pages() for one block: its zone, then every present frame not in use to the buddy."""
    m.budget.tick()
    b.state = "online"
    b.zone = "Movable" if zone == "movable" else ("Normal" if not b.boot else None)
    skip_to = b.start + b.nr_vmemmap
    for s, e in b.present:
        s = max(s, skip_to)
        if s >= e:
            continue
        # frames already in use (another block's memmap cannot be here: it was offline)
        cur = s
        for rs, re_, _ in list(m.roles.overlapping(s, e)):
            m.free_to_buddy(b, cur, rs)
            cur = re_
        m.free_to_buddy(b, cur, e)


def _names(blocks: list[Block]) -> str:
    ids = [b.id for b in blocks]
    if len(ids) > 4:
        return f"memory{ids[0]}..memory{ids[-1]} ({len(ids)} blocks)"
    return ", ".join(f"memory{i}" for i in ids)


def online(m: Machine, loc: tuple, op) -> dict:
    """The online op: memory_block_online() of each block of the range (zone for the whole block,
    vmemmap pages accounted, the rest to the buddy allocator)."""
    blocks = _range_blocks(m, loc, op.start, op.size)
    done: list[Block] = []
    refused = []
    for b in blocks:
        if b.state == "online":
            refused.append(f"memory{b.id} is already online (-EINVAL)")
        else:
            done.append(b)
    present, managed = online_memory_blocks(m, done, op.zone)
    if not done:
        return m.event("refused", "; ".join(refused))
    zone = "Movable" if op.zone == "movable" else "Normal"
    ps = m.arch.page_size
    msg = (f"online {_names(done)} to zone {zone}: present +{human_size(present * ps)}, "
           f"managed +{human_size(managed * ps)}")
    return m.event("partial" if refused else "ok", msg + ("; " + "; ".join(refused) if refused else ""))


def offline_pages(m: Machine, b: Block) -> str | None:
    """offline_pages() on [start + nr_vmemmap, end); returns the failure reason or None."""
    a = m.arch
    s, e = b.start + b.nr_vmemmap, b.end
    fail = f"memory offlining [mem {a.page_size * s:#010x}-{a.page_size * e - 1:#010x}] failed due to "
    if b.zone != "Movable":
        for rs, re_, role in m.roles.overlapping(s, e):
            if role in UNMOVABLE:
                return fail + (f"failure to isolate range (unmovable page at pfn {hex(rs)}: "
                               f"{m.describe_frame(rs)})")
    # isolate: take the block's free pages out of the allocator
    iso = m.isolate(b, s)
    # migrate swap-cache pages away
    for rs, re_, role in list(m.roles.overlapping(s, e)):
        if role == SWAPCACHE:
            pfn, _ = m.buddy.alloc(b.node, 1, GFP_MOVABLE_ZONES, align=1)
            if pfn < 0:
                m.unisolate(iso)
                return fail + "failure to migrate pages"
            m.roles.clear(rs, re_)
            m.roles.assign(pfn, pfn + 1, SWAPCACHE)
    err = dissolve_free_hugetlb_folios(m, s, e)
    if err:
        m.unisolate(iso)
        return fail + "failure to dissolve huge pages (" + err + ")"
    # pages freed by the dissolve inside the block are now offline too
    m.isolate(b, s)
    return None


def offline(m: Machine, loc: tuple, op) -> dict:
    """The offline op: memory_block_offline() of each block of the range."""
    blocks = _range_blocks(m, loc, op.start, op.size)
    done, refused = [], []
    for b in blocks:
        m.budget.tick()
        if b.state != "online":
            refused.append(f"memory{b.id} is already offline (-EINVAL)")
            continue
        why = offline_pages(m, b)
        if why:
            refused.append(f"memory{b.id}: {why}")
            continue
        b.state, b.zone = "offline", None
        done.append(f"memory{b.id}")
        for h in b.hazards:
            refused.append(f"memory{b.id}: HAZARD {h}")
    outcome = "ok" if done and not refused else ("partial" if done else "refused")
    if any("HAZARD" in r for r in refused):
        outcome = "hazard"
    msg = (f"offline {', '.join(done)}" if done else "") + ("; " if done and refused else "") + "; ".join(refused)
    return m.event(outcome, msg)


def remove_memory(m: Machine, loc: tuple, op) -> dict:
    """try_remove_memory(): every block offline, then unmap the vmemmap and drop the blocks."""
    blocks = _range_blocks(m, loc, op.start, op.size)
    a = m.arch
    for b in blocks:
        m.budget.tick()
        if b.boot:
            return m.event("refused", f"memory{b.id} is boot memory: this model removes only hot-added "
                           f"ranges (-EINVAL)")
        if b.state == "online":
            return m.event("refused", f"removing memory fails, because memory "
                           f"[{hex(b.start * a.page_size)}-{hex(b.end * a.page_size - 1)}] is onlined "
                           f"(memory{b.id}, -EBUSY)")
    s_pfn, e_pfn = blocks[0].start, blocks[-1].end
    why = _altmap_granularity(m, blocks)
    if why:
        return m.event("refused", why)
    for b in blocks:
        m.budget.tick()
        if b.altmap_base >= 0 and not (s_pfn <= b.altmap_base < e_pfn):
            return m.event("refused", f"memory{b.id}'s memmap lives in the altmap at "
                           f"{hex(b.altmap_base)}: remove the whole range together")
        g0, g1 = b.group
        if b.altmap_base >= 0 and b.altmap_base == g0 and b.start != g0 and not (s_pfn <= g0 and g1 <= e_pfn):
            return m.event("refused", "a shared altmap must be removed with its whole range")
    users = m.memmap_users_in(s_pfn, e_pfn)
    if users:
        return m.event("refused", f"memory [{hex(s_pfn * a.page_size)}-{hex(e_pfn * a.page_size - 1)}] "
                       f"holds the struct pages of {users}: remove those first (-EBUSY)")
    hazards = [h for b in blocks for h in b.hazards]
    vmemmap_free(m, s_pfn, e_pfn)
    for b in blocks:
        m.budget.tick()
        m.drop_block(b)
    msg = f"removed {_names(blocks)} {m.range_str(s_pfn, e_pfn)}"
    if hazards:
        return m.event("hazard", msg + "; HAZARD: " + "; ".join(hazards))
    return m.event("ok", msg)


def _altmap_granularity(m: Machine, blocks: list[Block]) -> str | None:
    """try_remove_memory()'s altmap rule while memmap_on_memory is on: before 6.8 a range holding an
    altmap must be exactly one block; from 6.8 memory_blocks_have_altmaps() wants every block of the
    range to have one, or none. (A hypothetical range-wide altmap is checked by its own rules.)"""
    if m.params.memmap_on_memory == "off" or any(0 <= b.altmap_base != b.start for b in blocks):
        return None
    own = sum(1 for b in blocks if b.altmap_base == b.start and b.nr_vmemmap)
    ps = m.arch.page_size
    start, end = blocks[0].start * ps, blocks[-1].end * ps
    if not m.kernel.mmo_per_block_altmap:
        if own and len(blocks) > 1:
            return (f"Refuse to remove {start:#x} - {end:#x},wrong granularity (-EINVAL): memory "
                    "with its memmap on itself is removed one memory block at a time before 6.8")
    elif own and own != len(blocks):
        return (f"memory_blocks_have_altmaps(): {own} of the {len(blocks)} memory blocks in "
                f"[{start:#x}-{end - 1:#x}] have an altmap (WARN_ON_ONCE, -EINVAL): remove ranges "
                "whose blocks all have one, or none")
    return None


def swapcache_page(m: Machine, loc: tuple, op) -> dict:
    """The swapcache_page op: a free page becomes an anonymous page in the swap cache, whose
    PG_swapcache is the same bit as PG_owner_priv_1 (the v4 check's false positive)."""
    pfn = op.pfn
    key = m.buddy.zone_of_free(pfn)
    if key is None:
        return m.event("refused", f"pfn {hex(pfn)} is not a free page")
    m.buddy.lists[key].take(pfn, pfn + 1)
    m.roles.assign(pfn, pfn + 1, SWAPCACHE)
    return m.event("ok", f"pfn {hex(pfn)} now holds an anonymous page in the swap cache "
                   "(PG_swapcache, an alias of PG_owner_priv_1)")
