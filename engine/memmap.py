"""Where a memmap lives: the boot memblock buffer, buddy chunks, or the block itself (altmap).

Models mm/sparse.c (sparse_init_nid, sparse_buffer_init, section_map_size), mm/sparse-vmemmap.c
(vmemmap_populate_hugepages with its base-page fallback, altmap_alloc_block_buf, vmemmap_free) and
mm/memory_hotplug.c's mhp_supports_memmap_on_memory().
"""
from __future__ import annotations

from .codes import MEMMAP_BOOT, MEMMAP_BUDDY, MEMMAP_SELF, PMD, PTE
from .machine import Machine

__all__ = ["section_vpages", "sparse_init_nid", "populate_section_memmap", "vmemmap_populate_altmap",
           "vmemmap_populate_altmaps", "mhp_supports_memmap_on_memory", "vmemmap_free"]


def section_vpages(m: Machine, section: int) -> tuple[int, int]:
    """The vmemmap pages to populate for one section, rounded out to PMDs where PMD-mapped."""
    pps = m.arch.pages_per_section
    lo = m.vpage_of(section * pps)
    hi = -(-((section + 1) * pps - m.pfn_offset) * m.struct_page_size // m.arch.page_size)
    if m.arch.vmemmap_pmd:
        g = m.arch.ptrs_per_pte
        lo, hi = lo // g * g, -(-hi // g) * g
    return lo, hi


def sparse_init_nid(m: Machine, node: int, sections: list[int],
                    ranges: list[tuple[int, int]]) -> tuple[int, int] | None:
    """sparse_init_nid(): one memblock buffer per node, top-down, then populate section by section."""
    pieces: list[tuple[int, int]] = []
    runs: list[list[int]] = []                 # consecutive sections have adjacent vmemmap ranges:
    for s in sections:                         # one lookup per run, not per section (64 TiB = 512k)
        if runs and runs[-1][1] == s:
            runs[-1][1] = s + 1
        else:
            runs.append([s, s + 1])
    for first, end in runs:
        m.budget.tick()
        span = (section_vpages(m, first)[0], section_vpages(m, end - 1)[1])
        for lo, hi in m.vmemmap.unmapped(*span):
            if not pieces or pieces[-1][1] != lo:
                pieces.append((lo, hi))
            else:
                pieces[-1] = (pieces[-1][0], hi)
    used = sum(hi - lo for lo, hi in pieces)
    if used == 0:
        return None
    if m.kernel.boot_memmap_per_section:
        return _populate_top_down(m, pieces, ranges)
    map_size_pages = -(-m.arch.pages_per_section * m.struct_page_size // m.arch.pmd_size) \
        * m.arch.ptrs_per_pte   # section_map_size() in pages
    size = map_size_pages * len(sections)
    align = map_size_pages
    base = -1
    for s, e in sorted(ranges, key=lambda r: -r[1]):      # memblock: top-down
        a = (e - size) // align * align
        if a >= s:
            base = a
            break
    if base < 0:
        # sparse_buffer_init() failed (on arm64 64K one section's buffer is a 512 MiB PMD):
        # vmemmap_alloc_block_buf() falls back to plain memblock allocations, top-down, each
        # aligned to its request (a PMD, or a page under PTEs)
        align = m.arch.ptrs_per_pte if m.arch.vmemmap_pmd else 1
        for s, e in sorted(ranges, key=lambda r: -r[1]):
            a = (e - used) // align * align
            if a >= s:
                base = a
                break
    if base < 0:
        return None
    mapping = PMD if m.arch.vmemmap_pmd else PTE
    b = base
    for lo, hi in pieces:
        m.vmemmap.add(lo, hi, b, MEMMAP_BOOT, mapping)
        b += hi - lo
    m.roles.assign(base, base + used, MEMMAP_BOOT)
    return base, used


def _populate_top_down(m: Machine, pieces: list[tuple[int, int]],
                       ranges: list[tuple[int, int]]) -> tuple[int, int] | None:
    """7.2+ (no sparse_buffer): each PMD of memmap (a page where the vmemmap has no PMD leaves) is its
    own memblock allocation, top-down, so section k of a node lands below section k - 1."""
    g = m.arch.ptrs_per_pte if m.arch.vmemmap_pmd else 1
    mapping = PMD if m.arch.vmemmap_pmd else PTE
    spans = sorted(ranges, key=lambda r: -r[1])
    r, cursor = 0, spans[0][1]
    chunks = []
    for lo, hi in pieces:
        for v in range(lo, hi, g):
            n = min(g, hi - v)
            while r < len(spans):
                a = (min(cursor, spans[r][1]) - n) // g * g
                if a >= spans[r][0]:
                    break
                r += 1
                cursor = spans[r][1] if r < len(spans) else 0
            else:
                return None              # memblock_alloc() failed: sparse_init would panic
            chunks.append((v, n, a))
            cursor = a
    for v, n, a in chunks:
        m.vmemmap.add(v, v + n, a, MEMMAP_BOOT, mapping)
        m.roles.assign(a, a + n, MEMMAP_BOOT)
    return cursor, sum(n for _, n, _ in chunks)


def populate_section_memmap(m: Machine, node: int, start_pfn: int, end_pfn: int) -> list[str] | None:
    """__populate_section_memmap() for each section: order-9 under a PMD, else order-0 under PTEs.

    Returns notes on where the memmap went, or None (with nothing changed) on -ENOMEM.
    """
    shift = m.arch.pfn_section_shift
    done: list[tuple[int, int, int]] = []       # (vstart, vend, pfn) for rollback
    notes: dict[str, int] = {}
    g = m.arch.ptrs_per_pte
    for sec in range(start_pfn >> shift, end_pfn >> shift):
        for lo, hi in m.vmemmap.unmapped(*section_vpages(m, sec)):
            v = lo
            while v < hi:
                chunk_end = min((v // g + 1) * g, hi) if m.arch.vmemmap_pmd else hi
                if m.arch.vmemmap_pmd and chunk_end - v == g:
                    pfn, got = m.buddy.alloc(node, g)
                    if pfn >= 0:
                        _map(m, v, chunk_end, pfn, PMD, done)
                        notes[f"PMD node {got}"] = notes.get(f"PMD node {got}", 0) + 1
                        v = chunk_end
                        continue
                runs = m.buddy.alloc_pages(node, chunk_end - v)
                if runs is None:
                    _rollback(m, done)
                    return None
                for pfn, nr in runs:
                    _map(m, v, v + nr, pfn, PTE, done)
                    v += nr
                notes["PTE"] = notes.get("PTE", 0) + 1
    return [f"{n} x {k}" for k, n in notes.items()]


def _map(m: Machine, v0: int, v1: int, pfn: int, mapping: int, done: list) -> None:
    m.vmemmap.add(v0, v1, pfn, MEMMAP_BUDDY, mapping)
    m.roles.assign(pfn, pfn + v1 - v0, MEMMAP_BUDDY)
    done.append((v0, v1, pfn))


def _rollback(m: Machine, done: list) -> None:
    for v0, v1, pfn in done:
        m.vmemmap.remove(v0, v1)
        m.release_frames(pfn, v1 - v0)


def vmemmap_populate_altmaps(m: Machine, bases: range, npages: int) -> None:
    """vmemmap_populate_altmap() at each base pfn, for npages pages. C version:
    _replay_c.vmemmap_populate_altmaps (the runs and roles merged into the tables in one pass)."""
    if m.bulk is not None:
        return m.bulk.vmemmap_populate_altmaps(m, bases, npages)
    for base in bases:
        m.budget.tick()
        vmemmap_populate_altmap(m, base, npages)


def vmemmap_populate_altmap(m: Machine, base_pfn: int, nr_pages: int) -> int:
    """vmemmap_populate() with an altmap: the struct pages of [base, base+nr) are carved from the
    start of the range itself, in order (altmap_alloc_block_buf). Returns the pages used."""
    v0 = m.vpage_of(base_pfn)
    used = nr_pages * m.struct_page_size // m.arch.page_size
    m.vmemmap.add(v0, v0 + used, base_pfn, MEMMAP_SELF, PMD if m.arch.vmemmap_pmd else PTE)
    m.roles.assign(base_pfn, base_pfn + used, MEMMAP_SELF)
    return used


def mhp_supports_memmap_on_memory(m: Machine, requested: bool, range_pages: int,
                                  shared: bool = False) -> tuple[bool, str, int, int]:
    """mhp_supports_memmap_on_memory() as of the modelled release.

    Returns (used, reason, vmemmap pages used per altmap, pages reserved per altmap).
    `range_pages` is the pages covered by one altmap (a block, or the whole range when the op
    asks for the hypothetical shared altmap).
    """
    k, a, p = m.kernel, m.arch, m.params
    S, PS = m.struct_page_size, a.page_size
    vmemmap_size = range_pages * S
    nr = -(-vmemmap_size // PS)
    if not requested:
        return False, "caller did not pass MHP_MEMMAP_ON_MEMORY", 0, 0
    if p.memmap_on_memory == "off":
        return False, "memory_hotplug.memmap_on_memory=N", 0, 0
    if p.memmap_on_memory == "force" and not k.mmo_force:
        return False, ("memory_hotplug.memmap_on_memory=force is not a boolean before 6.6: "
                       "kstrtobool() failed, parameter stays N"), 0, 0
    if k.mmo_excluded_by_hvo and p.hugetlb_free_vmemmap:
        return False, ("disabled while hugetlb_free_vmemmap is on (\"mm: memory_hotplug: disable "
                       "memmap_on_memory when hugetlb_free_vmemmap enabled\", 5.14-5.18)"), 0, 0
    if k.hvo_overrides_mmo and p.hugetlb_free_vmemmap:
        return False, ("memmap_on_memory ignored: hugetlb_free_vmemmap=on takes precedence "
                       "(\"mm: memory_hotplug: override memmap_on_memory when "
                       "hugetlb_free_vmemmap=on\", 5.19)"), 0, 0
    pmd_ok = vmemmap_size % a.pmd_size == 0
    if not k.mmo_force:    # the 6.6 commit rewrote the whole check
        # 5.13: size == block size && IS_ALIGNED(vmemmap_size, PMD_SIZE) &&
        #       IS_ALIGNED(remaining_size, pageblock_nr_pages << PAGE_SHIFT)
        if range_pages != m.block_pages and not shared:
            return False, "range is not exactly one memory block (required before 6.8)", 0, 0
        if not pmd_ok:
            return False, (f"vmemmap size {vmemmap_size >> 10} KiB is not a multiple of PMD_SIZE "
                           f"({a.pmd_size >> 20} MiB)"), 0, 0
        if (range_pages - nr) % a.pageblock_nr_pages:
            return False, "remaining memory is not pageblock aligned", 0, 0
        return True, "vmemmap in the block itself (altmap)", nr, nr
    if not k.mmo_per_block_altmap and range_pages != m.block_pages and not shared:
        return False, "range is not exactly one memory block (required before 6.8)", 0, 0
    if vmemmap_size % PS:
        return False, "vmemmap size is not a multiple of PAGE_SIZE", 0, 0
    reserve = nr
    if p.memmap_on_memory == "force":
        reserve = -(-nr // a.pageblock_nr_pages) * a.pageblock_nr_pages
    elif nr % a.pageblock_nr_pages:
        return False, (f"{nr} vmemmap pages are not a multiple of pageblock_nr_pages "
                       f"({a.pageblock_nr_pages}); try memmap_on_memory=force"), 0, 0
    if reserve >= range_pages:
        return False, "no usable memory would remain in the block", 0, 0
    if not pmd_ok:
        return False, (f"arch_supports_memmap_on_memory(): vmemmap size {vmemmap_size >> 10} KiB "
                       f"is not a multiple of PMD_SIZE ({a.pmd_size >> 20} MiB)"), 0, 0
    return True, "vmemmap in the block itself (altmap)", nr, reserve


def vmemmap_free(m: Machine, s: int, e: int) -> None:
    """vmemmap_free() from arch_remove_memory(): unmap the vmemmap of [s, e) and free what backed it."""
    g = m.arch.ptrs_per_pte
    lo = m.vpage_of(s)
    hi = -(-((e - m.pfn_offset) * m.struct_page_size) // m.arch.page_size)
    if m.arch.vmemmap_pmd:          # keep PMDs still shared with present neighbours
        if lo % g and m.pfn_present(s - 1):
            lo = (lo // g + 1) * g
        if hi % g and m.pfn_present(e):
            hi = hi // g * g
    # vmemmap pages remapped by an HVO restore: their original frames went back to the
    # allocator at restore time and must not be released twice
    ov = m.overlay
    remapped = [(max(a, lo), min(b, hi)) for a, b in zip(ov.vstart, ov.vend) if a < hi and b > lo]
    for frame, nr, kind in ov.remove(lo, hi):
        m.release_frames(frame, nr)
    cuts = sorted({lo, hi} | {x for r in remapped for x in r})
    for a, b in zip(cuts, cuts[1:]):
        released = m.vmemmap.remove(a, b)
        if any(ra <= a and b <= rb for ra, rb in remapped):
            continue
        for frame, nr, kind in released:
            if kind == MEMMAP_SELF and s <= frame < e:
                continue
            m.release_frames(frame, nr)
    for pmd in [p for p in m.split_pmds if lo <= p * g and (p + 1) * g <= hi]:
        m.release_frames(m.split_pmds.pop(pmd), 1)
    m.roles.clear(s, e)
    m.hvo_freed.clear(s, e)
