"""HugeTLB Vmemmap Optimization: the self-hosted check policies, optimise and restore.

Models mm/hugetlb_vmemmap.c: hugetlb_vmemmap_optimize_folio (split the vmemmap PMD, remap tail
vmemmap pages read-only to the kept page, free the rest), hugetlb_vmemmap_restore_folio (allocate
them back), the vm.hugetlb_optimize_vmemmap sysctl, and the 2022 alternatives for refusing HVO
where the vmemmap is self-hosted (kernel-model.md 5).
"""
from __future__ import annotations

from .buddy import GFP_KERNEL_ZONES
from .codes import (HVO_FREED, HVO_FREED_SELF, HVO_NOT_OPTIMIZABLE, HVO_OFF, HVO_OPTIMIZED, HVO_REFUSED,
                    MEMMAP_BOOT, MEMMAP_SELF, PAGE_TABLE, PMD, PTE, SWAPCACHE, VMEMMAP_HVO_HEAD,
                    VMEMMAP_HVO_TAIL, VMEMMAP_RESTORED, R)
from .kernel import KERNELS
from .machine import Machine
from .mm_types import HugePage

__all__ = ["PageVmemmapSelfHosted", "vmemmap_should_optimize", "run_verdict", "page_verdict",
           "hugetlb_vmemmap_optimize_folio", "vmemmap_get_tail", "shared_tail_key",
           "hugetlb_vmemmap_restore_folio", "freed_runs", "note_hazard", "reason_text", "vmemmap_pages",
           "sysctl"]

OFF, OPTIMIZED, REFUSED, NOT_OPTIMIZABLE = HVO_OFF, HVO_OPTIMIZED, HVO_REFUSED, HVO_NOT_OPTIMIZABLE
HVO_HEAD, RESTORED = VMEMMAP_HVO_HEAD, VMEMMAP_RESTORED


def vmemmap_pages(m: Machine, order: int) -> int:
    """Vmemmap pages holding the struct pages of one huge page of this order."""
    return (m.struct_page_size << order) // m.arch.page_size


def PageVmemmapSelfHosted(m: Machine, frame: int) -> bool:
    """PageVmemmapSelfHosted(frame): set by mhp_init_memmap_on_memory() when the block goes online."""
    if frame < 0 or m.roles.get(frame) != MEMMAP_SELF:
        return False
    b = m.block_of(frame)
    return b is not None and b.state == "online"


def vmemmap_should_optimize(m: Machine, head: int, order: int) -> tuple[int, int, int]:
    """vmemmap_should_optimize_folio(): (state, reason, detail) for a new huge page, before any
    page-table work."""
    return run_verdict(m, order) or page_verdict(m, head, order)


def run_verdict(m: Machine, order: int) -> tuple[int, int, int] | None:
    """The verdict every new page of this order gets whatever its address, or None when it
    depends on where the page is (the self-hosted check of 6.0+)."""
    k, a = m.kernel, m.arch
    if not k.hvo_available(a):      # before the switch: hvo_enabled is False here too
        return NOT_OPTIMIZABLE, R.ARCH, 0
    if not m.hvo_enabled:
        return OFF, (R.OFF_SYSCTL if m.sysctl_touched else R.OFF_PARAM), 0
    S = m.struct_page_size
    if S & (S - 1):
        return NOT_OPTIMIZABLE, R.STRUCT_PAGE, S
    n = vmemmap_pages(m, order)
    if n - k.hvo_reserve_pages <= 0:
        return NOT_OPTIMIZABLE, R.SMALL, n
    if not k.selfhosted_refusal:
        return OPTIMIZED, R.OPTIMIZED, 0      # 5.14-5.19: mutual exclusion, no check needed
    return None


def page_verdict(m: Machine, head: int, order: int) -> tuple[int, int, int]:
    """The 6.0+ self-hosted check for one page, under the selected policy."""
    a = m.arch
    policy = m.params.selfhosted_check
    frame = m.backing_of_vpage(m.vpage_of(head))[0]
    truth = PageVmemmapSelfHosted(m, frame)
    if policy == "merged":
        if truth:
            return REFUSED, R.SELFHOSTED, frame
    elif policy == "section_flag":
        shift = a.pfn_section_shift
        for sec in range(head >> shift, ((head + (1 << order) - 1) >> shift) + 1):
            b = m.block_of(sec << shift)
            if b is not None and b.section_flag:
                return REFUSED, R.SECTION_FLAG, sec
    elif policy in ("first_page_maps_to_itself", "block_first_pfn_flag"):
        first = head // m.block_pages * m.block_pages
        if m.pfn_present(first):
            if policy == "first_page_maps_to_itself":
                if m.backing_of_vpage(m.vpage_of(first))[0] == first:
                    return REFUSED, R.FIRST_MAPS_ITSELF, first
            elif PageVmemmapSelfHosted(m, first):
                return REFUSED, R.FIRST_PFN_FLAG, first
            elif m.roles.get(first) == SWAPCACHE:
                return REFUSED, R.FIRST_PFN_SWAPCACHE, first
    if truth:
        return OPTIMIZED, R.HAZARD, frame
    return OPTIMIZED, R.OPTIMIZED, 0


def _originals(m: Machine, vh: int, n: int) -> list[int]:
    return [m.backing_of_vpage(vh + i)[0] for i in range(n)]


def freed_runs(m: Machine, vh: int, n: int, nkeep: int, copied: bool) -> list[tuple[int, int]]:
    """Frames whose vmemmap page was remapped away, as (pfn, nr) runs."""
    orig = _originals(m, vh, n)
    idx = ([0] if copied else []) + list(range(nkeep, n))
    runs: list[tuple[int, int]] = []
    for i in idx:
        f = orig[i]
        if runs and runs[-1][0] + runs[-1][1] == f:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((f, 1))
    return runs


def hugetlb_vmemmap_optimize_folio(m: Machine, p: HugePage) -> bool:
    """hugetlb_vmemmap_optimize_folio() on a new huge page, after vmemmap_should_optimize(): split PMDs,
    remap the tails read-only, free the vmemmap pages. Fills in p's HVO fields; returns whether the
    page is optimised."""
    m.budget.tick()
    p.state, p.reason, p.detail = vmemmap_should_optimize(m, p.head, p.order)
    if p.state != OPTIMIZED:
        return False
    head, order, node = p.head, p.order, p.node
    n = vmemmap_pages(m, order)
    vh = m.vpage_of(head)
    g = m.arch.ptrs_per_pte
    new_splits = []
    for pmd in range(vh // g, (vh + n - 1) // g + 1):
        _, _, mapping = m.vmemmap.lookup(pmd * g)
        if mapping == PMD and pmd not in m.split_pmds:
            pt, _ = m.buddy.alloc(node, 1, align=1)
            if pt < 0:   # PTE tables already installed stay: the kernel keeps a split it made
                p.state, p.reason = REFUSED, R.ENOMEM_SPLIT
                return False
            m.split_pmds[pmd] = pt
            m.roles.assign(pt, pt + 1, PAGE_TABLE)
            new_splits.append(pmd)
    p.splits = len(new_splits)
    k = m.kernel
    nkeep = k.hvo_reserve_pages
    orig0 = m.backing_of_vpage(vh)[0]
    shared = -1
    if k.hvo_shared_tails:
        shared = vmemmap_get_tail(m, head, order)
        if shared < 0:
            p.state, p.reason = REFUSED, R.ENOMEM_TAIL
            return False
    copy = -1
    if k.hvo_head_copy:
        copy, _ = m.buddy.alloc(node, 1, thisnode=k.hvo_copy_thisnode, align=1)
        if copy < 0 and k.hvo_head_copy_required:
            p.state, p.reason = REFUSED, R.ENOMEM_HEAD_COPY
            return False
    if copy >= 0:
        m.roles.assign(copy, copy + 1, HVO_HEAD)
        p.v0, p.tail = copy, (shared if shared >= 0 else copy)
    else:
        if m.kernel.hvo_head_copy:
            p.reason = R.COPY_FALLBACK
        p.v0 = orig0
        p.tail = m.backing_of_vpage(vh + nkeep - 1)[0]
    p.nkeep = nkeep
    p.state = OPTIMIZED
    freed = 0
    for f, k in freed_runs(m, vh, n, nkeep, copy >= 0):
        role = m.roles.get(f)
        m.hvo_freed.assign(f, f + k, HVO_FREED_SELF if role == MEMMAP_SELF else HVO_FREED)
        if role == MEMMAP_BOOT:
            m.boot_memmap_freed += k       # free_bootmem_page(): managed pages grow
        freed += k
        if role == MEMMAP_SELF:
            note_hazard(m, f, k, head)
    p.freed = freed - (1 if copy >= 0 else 0)
    return True


def vmemmap_get_tail(m: Machine, head: int, order: int) -> int:
    """vmemmap_get_tail() (7.1+): the zone's shared page of tail struct pages for this order, made on
    first use (GFP_KERNEL | __GFP_ZERO on the zone's node when it has room, else any node; never
    ZONE_MOVABLE) and never freed. Returns its pfn, or -1 (-ENOMEM)."""
    b = m.block_of(head)
    key = (b.node, m.zone_of(b, head), order)
    pfn = m.vmemmap_tails.get(key, -1)
    if pfn < 0:
        pfn, _ = m.buddy.alloc(b.node, 1, GFP_KERNEL_ZONES, align=1)
        if pfn >= 0:
            m.roles.assign(pfn, pfn + 1, VMEMMAP_HVO_TAIL)
            m.vmemmap_tails[key] = pfn
    return pfn


def note_hazard(m: Machine, f: int, k: int, head: int) -> None:
    """Policy none (or a check that missed): HVO handed self-hosted memmap frames to the buddy allocator."""
    b = m.block_of(f)
    if b is not None:
        b.hazards.append(f"HVO freed pfns {hex(f)}-{hex(f + k - 1)} of memory{b.id}'s self-hosted "
                         f"memmap to the buddy allocator (huge page {hex(head)}); on remove the "
                         f"altmap takes back frames the buddy allocator still owns")


def hugetlb_vmemmap_restore_folio(m: Machine, p: HugePage) -> tuple[str | None, list[tuple[int, int]]]:
    """hugetlb_vmemmap_restore_folio(): allocate the vmemmap back before the page leaves HugeTLB.
    Returns (why it failed, or None; the (pfn, nr) runs of the new vmemmap pages)."""
    head, order, node = p.head, p.order, p.node
    n = vmemmap_pages(m, order)
    vh = m.vpage_of(head)
    nkeep = p.nkeep
    copied = m.kernel.hvo_head_copy and p.reason != R.COPY_FALLBACK
    runs_freed = freed_runs(m, vh, n, nkeep, copied)
    # __GFP_THISNODE until "mm: hugetlb_vmemmap: allow alloc vmemmap pages fallback to other nodes"
    # and its restore-path companion 2eaa6c2abb9d (6.7)
    thisnode = m.kernel.hvo_copy_thisnode
    new = m.buddy.alloc_pages(node, n - nkeep, thisnode=thisnode)
    if new is None:
        where = f"on node {node} (__GFP_THISNODE before 6.7)" if thisnode else "on any node"
        return (f"could not allocate {n - nkeep} vmemmap pages {where} for huge page {hex(head)} "
                f"(-ENOMEM in alloc_vmemmap_page_list)"), []
    m.overlay.remove(vh, vh + n)
    if copied:
        m.overlay.add(vh, vh + 1, p.v0, HVO_HEAD, PTE)
    v = vh + nkeep
    for pfn, k in new:
        m.overlay.add(v, v + k, pfn, RESTORED, PTE)
        m.roles.assign(pfn, pfn + k, RESTORED)
        v += k
    for f, k in runs_freed:
        m.hvo_freed.clear(f, f + k)
        m.release_frames(f, k)
    p.state = OFF
    return None, new


def shared_tail_key(m: Machine, pfn: int) -> tuple[int, str, int] | None:
    """(node, zone, order) of the shared tail page at pfn, or None if pfn is not one."""
    return next((key for key, p in m.vmemmap_tails.items() if p == pfn), None)


def _release_before(release: tuple[int, int]) -> str:
    i = KERNELS.index("%d.%d" % release) if "%d.%d" % release in KERNELS else len(KERNELS)
    return KERNELS[i - 1]


def reason_text(m: Machine, p: HugePage) -> str:
    """Why a huge page is (not) optimised, with its frames."""
    k = m.kernel
    r, d = p.reason, p.detail
    size = m.size_str(p.order)
    n = vmemmap_pages(m, p.order)
    if r == R.OFF_PARAM:
        return "HVO off: hugetlb_free_vmemmap=off"
    if r == R.OFF_SYSCTL:
        return "HVO off: vm.hugetlb_optimize_vmemmap=0 when the page was allocated"
    if r == R.ARCH:
        a = m.arch
        since, until = ".".join(map(str, a.hvo_since)), a.hvo_until
        window = f"from {since}" if until is None else f"only in {since}-{_release_before(until)}"
        return (f"{a.name} does not select ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP in {k.version} "
                f"({a.name} had HVO {window}: {a.hvo_history})")
    if r == R.STRUCT_PAGE:
        return f"sizeof(struct page) = {d} is not a power of two: hugetlb_vmemmap_optimizable_size() = 0"
    if r == R.SMALL:
        return f"the vmemmap of a {size} page is {d} page(s): nothing to free"
    if r == R.SELFHOSTED:
        b = m.block_of(d)
        return (f"vmemmap of head pfn {hex(p.head)} is backed by pfn {hex(d)}, a self-hosted memmap "
                f"page{f' of memory{b.id}' if b else ''} (PageVmemmapSelfHosted): not optimised")
    if r == R.SECTION_FLAG:
        return f"section {d} has SECTION_CANNOT_OPTIMIZE_VMEMMAP (hot-added with an altmap; v2 policy)"
    if r == R.FIRST_MAPS_ITSELF:
        return f"first pfn {hex(d)} of memory{d // m.block_pages} maps to itself (memmap_on_memory block)"
    if r == R.FIRST_PFN_FLAG:
        return f"PG_owner_priv_1 (vmemmap_self_hosted) set on pfn {hex(d)}, first of memory{d // m.block_pages}"
    if r == R.FIRST_PFN_SWAPCACHE:
        return (f"PG_owner_priv_1 set on pfn {hex(d)}, first of memory{d // m.block_pages}, but it means "
                "PG_swapcache there: false positive of the v4 check")
    if r == R.ENOMEM_SPLIT:
        return "-ENOMEM allocating a PTE table to split the vmemmap PMD"
    if r == R.ENOMEM_TAIL:
        return "-ENOMEM allocating the zone's shared tail page (vmemmap_get_tail): not optimised"
    if r == R.ENOMEM_HEAD_COPY:
        return "-ENOMEM allocating the new head vmemmap page: not optimised (7.1+ has no fallback)"
    kept = "a new page" if k.hvo_head_copy and r != R.COPY_FALLBACK else "the original head vmemmap page"
    key = shared_tail_key(m, p.tail)
    target = (f"the shared tail page {hex(p.tail)} of node{key[0]} ZONE_{key[1].upper()} order {key[2]} "
              "(one per zone and order, never freed)" if key else hex(p.tail))
    text = (f"{n} vmemmap pages: head page kept in {kept} ({hex(p.v0)}), "
            f"{n - p.nkeep} tail pages remapped read-only to {target}, "
            f"{p.freed} pages ({(p.freed * m.arch.page_size) >> 10} KiB) freed")
    if r == R.COPY_FALLBACK:
        text += "; the head copy could not be allocated, 5.18 layout used"
    if r == R.HAZARD:
        b = m.block_of(d)
        pol = m.params.selfhosted_check
        why = "no self-hosted check (policy none)" if pol == "none" else f"the {pol} check missed it"
        text += (f"; HAZARD: {why} and the vmemmap is self-hosted in "
                 f"memory{b.id if b else '?'} (pfn {hex(d)})")
    return text


def sysctl(m: Machine, loc: tuple, op) -> dict:
    """The sysctl op: vm.hugetlb_optimize_vmemmap (hugetlb_optimize_vmemmap_handler()) and/or
    vm.movable_gigantic_pages (7.0+), for huge pages allocated from then on."""
    results = []
    if op.hugetlb_optimize_vmemmap is not None:
        results.append(_hugetlb_optimize_vmemmap(m, op.hugetlb_optimize_vmemmap))
    if op.movable_gigantic_pages is not None:
        results.append(_movable_gigantic_pages(m, op.movable_gigantic_pages))
    outcome = "ok" if all(ok for ok, _ in results) else ("partial" if any(ok for ok, _ in results) else "refused")
    return m.event(outcome, "; ".join(msg for _, msg in results))


def _hugetlb_optimize_vmemmap(m: Machine, on: bool) -> tuple[bool, str]:
    k, a = m.kernel, m.arch
    if not k.hvo_sysctl or not k.hvo_available(a):
        return False, (f"vm.hugetlb_optimize_vmemmap: no such sysctl in {k.version} on {a.name} "
                       "(it appeared in 5.19 where HVO is built)")
    if k.hvo_overrides_mmo and m.params.memmap_on_memory == "on" and not m.params.hugetlb_free_vmemmap:
        return False, "vm.hugetlb_optimize_vmemmap is not registered when memmap_on_memory is enabled (5.19)"
    S = m.struct_page_size
    if S & (S - 1):
        return False, (f"vm.hugetlb_optimize_vmemmap is not registered: sizeof(struct page) = {S} is not "
                       "a power of two")
    m.hvo_enabled = on
    m.sysctl_touched = True
    return True, f"vm.hugetlb_optimize_vmemmap = {int(on)} (applies to huge pages allocated from now on)"


def _movable_gigantic_pages(m: Machine, on: bool) -> tuple[bool, str]:
    k = m.kernel
    if not k.movable_gigantic_pages_sysctl:
        return False, (f"vm.movable_gigantic_pages: no such sysctl in {k.version} (\"mm, hugetlb: implement "
                       "movable_gigantic_pages sysctl\", 7.0)")
    m.movable_gigantic = on
    return True, (f"vm.movable_gigantic_pages = {int(on)} (gigantic pages "
                  f"{'may' if on else 'may not'} come from ZONE_MOVABLE from now on)")
