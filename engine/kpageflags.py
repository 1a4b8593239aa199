"""What /proc/kpageflags says of a pfn: stable_page_flags() (fs/proc/page.c) for the pages this
model knows, so a scenario can be held against a real kernel's kpageflags (and crash's kmem -p).

Modelled: NOPAGE (no online memory: holes and offline blocks, pfn_to_online_page() is NULL),
BUDDY (every page of a free buddy block: is_free_buddy_page()), COMPOUND_HEAD/COMPOUND_TAIL/HUGE
(HugeTLB folios), RESERVED (memblock memmap; self-hosted memmap before 6.11), OWNER_PRIVATE
(PageVmemmapSelfHosted, the bit PG_swapcache shares), SWAPCACHE. Pages the kernel allocates for
itself (memmap from buddy, PTE tables, head copies, restored vmemmap, 7.x shared tails) report 0
here: their slab/LRU state depends on the running kernel, not on this model.
"""
from __future__ import annotations

from .codes import (ALTMAP_RESERVED, HOLE, HUGETLB_HEAD, HUGETLB_TAIL, HVO_FREED, HVO_FREED_SELF, KPF,
                    MEMMAP_BOOT, MEMMAP_SELF, OFFLINE, SWAPCACHE, USABLE)
from .machine import Machine

__all__ = ["stable_page_flags", "kpf_names"]

_BY_ROLE = {
    HOLE: KPF["NOPAGE"], OFFLINE: KPF["NOPAGE"],
    HUGETLB_HEAD: KPF["COMPOUND_HEAD"] | KPF["HUGE"], HUGETLB_TAIL: KPF["COMPOUND_TAIL"] | KPF["HUGE"],
    MEMMAP_BOOT: KPF["RESERVED"], HVO_FREED: KPF["BUDDY"], HVO_FREED_SELF: KPF["BUDDY"],
    SWAPCACHE: KPF["SWAPCACHE"] | KPF["OWNER_PRIVATE"],
}


def stable_page_flags(m: Machine, pfn: int, role: int) -> int:
    """The kpageflags bitmask of pfn, given its role on the map (resolve's role column)."""
    if role in (MEMMAP_SELF, ALTMAP_RESERVED):
        # mhp_init_memmap_on_memory(): SetPageVmemmapSelfHosted on every vmemmap page (padding too);
        # before 6.11 they were also PG_reserved (memmap_init_range(MEMINIT_HOTPLUG))
        flags = KPF["OWNER_PRIVATE"]
        return flags if m.kernel.memmap_pages_offline else flags | KPF["RESERVED"]
    if role == USABLE:
        return KPF["BUDDY"] if m.buddy.zone_of_free(pfn) is not None else 0
    return _BY_ROLE.get(role, 0)


def kpf_names(flags: int) -> list[str]:
    """The KPF_* names of a bitmask, lowest bit first."""
    return [name for name, bit in KPF.items() if flags & bit]
