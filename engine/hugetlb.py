"""HugeTLB pools per size and node: allocate by count or at an address, free, dissolve.

Models the parts of mm/hugetlb.c that matter here: alloc_pool_huge_folio (__GFP_THISNODE,
gigantic pages through alloc_contig_pages, never from ZONE_MOVABLE), prep_and_add_allocated_folios
(6.7+: HVO over the whole batch), and freeing a page back to the buddy allocator, which must
restore its vmemmap first (and can fail). The op functions (alloc_hugepages, alloc_hugepage,
free_hugepage, free_hugepages) keep the scenario's op names.
"""
from __future__ import annotations

from .buddy import GFP_KERNEL_ZONES, GFP_MOVABLE_ZONES
from .codes import HVO_OPTIMIZED, HVO_STATES, MAX_HUGEPAGES
from .errors import ScenarioError
from .hvo import hugetlb_vmemmap_optimize_folio, hugetlb_vmemmap_restore_folio, reason_text
from .machine import Machine
from .mm_types import HugePage
from .units import format_size, human_size

__all__ = ["alloc_hugepages", "alloc_hugepage", "free_hugepage", "free_hugepages", "htlb_alloc_zones",
           "alloc_pool_huge_folios", "prep_and_add_allocated_folios", "alloc_contig_hugetlb_folio",
           "update_and_free_hugetlb_folio", "dissolve_free_hugetlb_folios", "live_by_head_desc",
           "why_no_huge_page"]


def htlb_alloc_zones(m: Machine, order: int) -> tuple[str, ...]:
    """The zones a new huge page may come from: hugepage_movable_supported() keeps gigantic pages
    out of ZONE_MOVABLE unless vm.movable_gigantic_pages (7.0+) is set."""
    gigantic = order > m.arch.max_page_order and not m.movable_gigantic
    return m.buddy.zonelist(GFP_KERNEL_ZONES if gigantic else GFP_MOVABLE_ZONES)


def alloc_pool_huge_folios(m: Machine, node: int, order: int, count: int) -> tuple[int, int]:
    """Grow the pool on one node by up to count pages, each the lowest free naturally aligned run
    of the first zone that has one (one increment of nr_hugepages at a time); then
    prep_and_add_allocated_folios(). Returns (allocated, optimised). C version:
    _replay_c.alloc_pool_huge_folios (the aligned runs taken in one pass over the free ranges)."""
    if m.bulk is not None:
        return m.bulk.alloc_pool_huge_folios(m, node, order, count)
    nr, heads = 1 << order, []
    for zone in htlb_alloc_zones(m, order):
        fl = m.buddy.lists.get((node, zone))
        while fl is not None and len(heads) < count:
            m.budget.tick()
            head = fl.alloc(nr, nr)
            if head < 0:
                break
            heads.append(head)
    return len(heads), prep_and_add_allocated_folios(m, [range(h, h + nr, nr) for h in heads], order, node)


def prep_and_add_allocated_folios(m: Machine, runs: list[range], order: int, node: int) -> int:
    """Record pages already taken from the allocator (runs of head pfns), then run HVO on each
    (hugetlb_vmemmap_optimize_folios() of 6.7+: the batch is allocated first, optimised after);
    returns how many HVO optimised. C version: _replay_c.prep_and_add_allocated_folios (runs cut
    into pieces that share one verdict, a pool row per piece HVO leaves alone, each optimised piece
    in one loop)."""
    if m.bulk is not None:
        return m.bulk.prep_and_add_allocated_folios(m, runs, order, node)
    nr, optimised = 1 << order, 0
    for heads in runs:
        for head in heads:
            m.mark_hugepage(head, head + nr)
            p = HugePage(head, order, node)
            optimised += hugetlb_vmemmap_optimize_folio(m, p)
            m.hugetlb.add(p)
    return optimised


def alloc_contig_hugetlb_folio(m: Machine, head: int, order: int) -> HugePage | str:
    """alloc_contig_range() at a fixed place; returns the new page or why not."""
    nr = 1 << order
    b = m.block_of(head)
    if b is None or b.state != "online":
        return f"pfn {hex(head)} is not in online memory"
    for (node, zone), fl in m.buddy.lists.items():
        if fl.is_free(head, head + nr):
            if zone not in htlb_alloc_zones(m, order):
                why = ("gigantic pages are not movable (vm.movable_gigantic_pages is 0)" if zone == "Movable"
                       else "kept for DMA")
                return f"pfns {hex(head)}-{hex(head + nr - 1)} are in ZONE_{zone.upper()} ({why})"
            fl.take(head, head + nr)
            prep_and_add_allocated_folios(m, [range(head, head + nr, nr)], order, node)
            return m.hugetlb.page(*m.hugetlb.find(head))
    busy = m.first_busy(head, head + nr)
    return f"pfns {hex(head)}-{hex(head + nr - 1)} are not all free ({busy})"


def update_and_free_hugetlb_folio(m: Machine, r: int, k: int, dissolving: bool = False) -> str | None:
    """update_and_free_hugetlb_folio() of page k of pool row r: restore the vmemmap, then give the
    frames to buddy. When offlining dissolves the page, the op's event says so (m.effects), with the
    frames the vmemmap restore took. The page leaves the pool (HugePool.remove: the row keeps the
    pages after it)."""
    hp = m.hugetlb
    m.budget.tick()
    p = hp.page(r, k)
    what = f"dissolved the free {m.size_str(p.order)} HugeTLB page at pfn {p.head:#x}"
    if p.state == HVO_OPTIMIZED:
        err, new = hugetlb_vmemmap_restore_folio(m, p)
        if err:
            return err
        if dissolving:
            m.effects.append(f"{what}: its vmemmap was restored (HVO undone) into "
                             f"{', '.join(f'pfn {f:#x}' if n == 1 else f'pfns {f:#x}-{f + n - 1:#x}' for f, n in new)}"
                             f" ({sum(n for _, n in new)} pages)")
    elif dissolving:
        m.effects.append(what)
    hp.remove(r, k)
    nr = 1 << p.order
    m.unmark_hugepage(p.head, nr)
    m.release_frames(p.head, nr, hugetlb=True)
    return None


def dissolve_free_hugetlb_folios(m: Machine, start: int, end: int) -> str | None:
    """dissolve_free_hugetlb_folios() for memory offlining, lowest pfn first; the first failure stops it."""
    for r, k0, k1 in m.hugetlb.overlapping(start, end):
        for j in range(k1 - k0):
            # after page k0 leaves, row r begins with the next one
            err = update_and_free_hugetlb_folio(m, r, k0 if j == 0 else 0, dissolving=True)
            if err:
                return err
    return None


def live_by_head_desc(m: Machine, node: int, order: int) -> list[int]:
    """The live rows of one size on one node, highest head first (free_hugepages gives their pages
    back from the top). C version: _replay_c.live_by_head_desc (a natural merge sort of the rows)."""
    if m.bulk is not None:
        return m.bulk.live_by_head_desc(m.hugetlb, node, order)
    hp = m.hugetlb
    return sorted(hp.rows_on(node, order), key=lambda r: -hp.head[r])


def why_no_huge_page(m: Machine, node: int, order: int) -> str:
    """Why alloc_pool_huge_folio() (__GFP_THISNODE) finds no more pages of this order on the node, in
    the kernel's terms: the zones it may not use, too little free memory, or no aligned free run."""
    nr, size, k = 1 << order, m.size_str(order), m.kernel
    zones = htlb_alloc_zones(m, order)
    free = {zone: fl.nr_free() for (n, zone), fl in m.buddy.lists.items() if n == node}
    usable = sum(free.get(z, 0) for z in zones)
    ps = m.arch.page_size
    why = []
    if "Movable" not in zones and free.get("Movable", 0) >= nr:
        sysctl = ("vm.movable_gigantic_pages is 0" if k.movable_gigantic_pages_sysctl
                  else "vm.movable_gigantic_pages came in 7.0")
        why.append(f"{size} pages are gigantic and never come from ZONE_MOVABLE (hugepage_movable_supported(); "
                   f"{sysctl}), where node {node} has {human_size(free['Movable'] * ps)} free")
    if usable < nr:
        why.append(f"node {node} has {human_size(usable * ps)} free in ZONE_{'/'.join(z.upper() for z in zones)}, "
                   f"less than one {size} page (__GFP_THISNODE: no other node)")
    elif nr > m.block_pages and any(b.node == node and b.nr_vmemmap for b in m.blocks.values()):
        why.append(f"a {size} page spans {nr // m.block_pages} memory blocks, and the blocks of node {node} that "
                   "hold their own memmap (memmap_on_memory) begin with it, so no naturally aligned run of "
                   f"{nr} pages is free")
    else:
        why.append(f"node {node}'s {human_size(usable * ps)} of free memory holds no free, naturally aligned run "
                   f"of {nr} pages")
    return "; ".join(why)


# ---------------------------------------------------------------- the ops
def _order_of(m: Machine, loc: tuple, size: int) -> int:
    a = m.arch
    if size not in a.hugetlb_sizes:
        raise ScenarioError(loc + ("size",), f"{a.key} offers HugeTLB sizes "
                            f"{', '.join(format_size(s) for s in a.hugetlb_sizes)}")
    return a.hugetlb_order(size)


def _check_node(m: Machine, loc: tuple, node: int) -> None:
    if not any(b.node == node for b in m.blocks.values()):
        raise ScenarioError(loc + ("node",), f"node {node} has no memory (no /sys/devices/system/node/node{node})")


def alloc_hugepages(m: Machine, loc: tuple, op) -> dict:
    """The alloc_hugepages op: echo N > .../node<N>/hugepages/hugepages-<size>/nr_hugepages."""
    order = _order_of(m, loc, op.size)
    _check_node(m, loc, op.node)
    room = MAX_HUGEPAGES - m.hugetlb.nr_alive
    got, optimised = alloc_pool_huge_folios(m, op.node, order, min(op.count, room))
    if got == room < op.count:
        raise ScenarioError(loc + ("count",), f"the simulator holds at most {MAX_HUGEPAGES} live huge "
                            f"pages; this op would need {m.hugetlb.nr_alive - got + op.count}")
    msg = (f"node{op.node} hugepages-{human_size(op.size).replace(' ', '')}: asked for {op.count} more, "
           f"allocated {got}")
    if got:
        msg += f" ({optimised} optimised by HVO)"
    if got < op.count:
        msg += f"; no more because {why_no_huge_page(m, op.node, order)}"
    return m.event("ok" if got == op.count else ("partial" if got else "failed"), msg,
                   allocated=got, optimized=optimised)


def alloc_hugepage(m: Machine, loc: tuple, op) -> dict:
    """The alloc_hugepage op: one huge page at a given physical address (alloc_contig_range)."""
    order = _order_of(m, loc, op.size)
    a = m.arch
    if op.at % op.size:
        raise ScenarioError(loc + ("at",), f"not aligned to the {human_size(op.size)} huge page size")
    if op.at + op.size > a.max_phys:
        raise ScenarioError(loc + ("at",), "beyond the physical address limit")
    head = op.at // a.page_size
    p = alloc_contig_hugetlb_folio(m, head, order)
    if isinstance(p, str):
        return m.event("refused", f"alloc_contig_range: {p}")
    return m.event("ok", f"HugeTLB {format_size(op.size)} page at pfn {hex(head)}: HVO {HVO_STATES[p.state]}: "
                   f"{reason_text(m, p)}")


def free_hugepage(m: Machine, loc: tuple, op) -> dict:
    """The free_hugepage op: the page whose head is at a given address leaves the pool."""
    head = op.at // m.arch.page_size
    if op.at % m.arch.page_size:
        raise ScenarioError(loc + ("at",), "not page aligned")
    r, k = m.hugetlb.find(head)
    if r < 0:
        raise ScenarioError(loc + ("at",), f"no HugeTLB page has its head at {hex(op.at)}")
    order = m.hugetlb.order[r]
    err = update_and_free_hugetlb_folio(m, r, k)
    if err:
        return m.event("failed", f"free huge page {hex(head)}: {err}; the page stays in the pool "
                       "as a surplus page")
    return m.event("ok", f"freed HugeTLB page {hex(head)} ({m.size_str(order)})")


def free_hugepages(m: Machine, loc: tuple, op) -> dict:
    """The free_hugepages op: shrink nr_hugepages of one size on one node by count."""
    order = _order_of(m, loc, op.size)
    _check_node(m, loc, op.node)
    hp = m.hugetlb
    rows = live_by_head_desc(m, op.node, order)
    m.budget.check()
    live = sum(hp.count[r] for r in rows)
    freed, errs = 0, []
    for r in rows:                      # each row from its top page down: the row only gets shorter
        while hp.count[r] and freed < op.count and not errs:
            err = update_and_free_hugetlb_folio(m, r, hp.count[r] - 1)
            if err:
                errs.append(err)
            else:
                freed += 1
        if errs or freed == op.count:
            break
    msg = f"node{op.node}: freed {freed} of {min(op.count, live)} {format_size(op.size)} pages"
    if errs:
        msg += f"; {errs[0]}; that page stays in the pool as a surplus page"
    return m.event("ok" if not errs and freed == op.count else ("partial" if freed else "failed"),
                   msg, freed=freed)
