"""Every code the engine stores in its tables, in one place: frame roles, vmemmap mappings, HVO
states and reasons, zones, block states, column typecodes and the simulator's limits.

Codes are a wire format (/window columns, resolve columns): never reorder, only append.
codes.pxd repeats the numbers for the Cython modules; tests/engine/test_layers.py holds them equal.
"""
from __future__ import annotations

__all__ = ["ROLES", "ROLE_CODE", "MEMMAP_ROLES", "UNMOVABLE", "MAPPINGS", "HVO_STATES", "R",
           "ZONE_NAMES", "ZONE_CODE", "STATE_NAMES", "RESOLVE_TYPES", "KPF", "SECTION_FLAGS",
           "MAX_BLOCKS", "MAX_HUGEPAGES", "MAX_BINS", "MAX_RESOLVE"]

# ---- what a physical page frame is used for, as the map colours it
ROLES: tuple[tuple[str, str], ...] = (
    ("hole", "no RAM (not present)"),
    ("usable", "online RAM managed by the buddy allocator"),
    ("offline", "present RAM in an offline memory block"),
    ("memmap_boot", "struct pages of boot memory (memblock buffer)"),
    ("memmap_buddy", "struct pages of hot-added memory, allocated from the buddy allocator"),
    ("memmap_self", "self-hosted struct pages (memmap_on_memory altmap in the block itself)"),
    ("altmap_reserved", "altmap padding reserved by memmap_on_memory=force, unused"),
    ("hugetlb_head", "HugeTLB page, head"),
    ("hugetlb_tail", "HugeTLB page, tail"),
    ("hvo_freed", "vmemmap frame freed by HVO (returned to the buddy allocator)"),
    ("hvo_freed_selfhosted", "HAZARD: a self-hosted memmap frame freed by HVO"),
    ("page_table", "PTE table allocated to split a vmemmap PMD"),
    ("vmemmap_hvo_head", "new frame holding a huge page's head vmemmap page after HVO (6.2+)"),
    ("vmemmap_restored", "vmemmap frame allocated back when an optimised huge page was freed"),
    ("swapcache", "anonymous page in the swap cache (PG_swapcache = PG_owner_priv_1)"),
    ("vmemmap_hvo_tail", "a zone's shared read-only page of tail struct pages, mapped by every optimised "
                         "huge page of one order (7.1+, never freed)"),
)
ROLE_CODE: dict[str, int] = {name: i for i, (name, _) in enumerate(ROLES)}
(HOLE, USABLE, OFFLINE, MEMMAP_BOOT, MEMMAP_BUDDY, MEMMAP_SELF, ALTMAP_RESERVED, HUGETLB_HEAD, HUGETLB_TAIL,
 HVO_FREED, HVO_FREED_SELF, PAGE_TABLE, VMEMMAP_HVO_HEAD, VMEMMAP_RESTORED, SWAPCACHE,
 VMEMMAP_HVO_TAIL) = range(len(ROLES))
MEMMAP_ROLES = frozenset((MEMMAP_BOOT, MEMMAP_BUDDY, MEMMAP_SELF))
# frames the kernel cannot migrate away when offlining the block that holds them
UNMOVABLE = frozenset((MEMMAP_BOOT, MEMMAP_BUDDY, PAGE_TABLE, VMEMMAP_HVO_HEAD, VMEMMAP_RESTORED,
                       VMEMMAP_HVO_TAIL))

# ---- how a vmemmap page is mapped
MAPPINGS: tuple[str | None, ...] = (None, "pmd", "pte")
NO_MAPPING, PMD, PTE = range(3)

# ---- HVO state of a huge page, and why (the text is built by hvo.reason_text from the page's facts)
HVO_STATES = ("off", "optimized", "refused", "not_optimizable")
HVO_OFF, HVO_OPTIMIZED, HVO_REFUSED, HVO_NOT_OPTIMIZABLE = range(4)


class R:
    """HVO reason codes."""
    NONE, OFF_PARAM, OFF_SYSCTL, ARCH, STRUCT_PAGE, SMALL = range(6)
    SELFHOSTED, SECTION_FLAG, FIRST_MAPS_ITSELF, FIRST_PFN_FLAG, FIRST_PFN_SWAPCACHE = range(6, 11)
    ENOMEM_SPLIT, OPTIMIZED, HAZARD, COPY_FALLBACK = range(11, 15)
    ENOMEM_TAIL, ENOMEM_HEAD_COPY = range(15, 17)


# ---- zones and memory block states as the query tables store them
ZONE_NAMES = ("", "DMA", "DMA32", "Normal", "Movable")
ZONE_CODE = {z: i for i, z in enumerate(ZONE_NAMES)}
ZONE_NONE, ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE = range(len(ZONE_NAMES))
STATE_NAMES = ("", "online", "offline")
BLOCK_ONLINE, BLOCK_OFFLINE = 1, 2

# ---- resolve_columns' columns and their array typecodes (both implementations): as narrow as the
# values allow, since a million pfns make 19 MB of them instead of 48
RESOLVE_TYPES = {"present": "i", "role": "b", "backing": "q", "mapping": "b", "hugepage": "i",
                 "self_hosted": "b"}

# ---- /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h; an ABI: they never move)
KPF: dict[str, int] = {name: 1 << bit for name, bit in (
    ("LOCKED", 0), ("ERROR", 1), ("REFERENCED", 2), ("UPTODATE", 3), ("DIRTY", 4), ("LRU", 5),
    ("ACTIVE", 6), ("SLAB", 7), ("WRITEBACK", 8), ("RECLAIM", 9), ("BUDDY", 10), ("MMAP", 11),
    ("ANON", 12), ("SWAPCACHE", 13), ("SWAPBACKED", 14), ("COMPOUND_HEAD", 15), ("COMPOUND_TAIL", 16),
    ("HUGE", 17), ("UNEVICTABLE", 18), ("HWPOISON", 19), ("NOPAGE", 20), ("KSM", 21), ("THP", 22),
    ("OFFLINE", 23), ("ZERO_PAGE", 24), ("IDLE", 25), ("PGTABLE", 26),
    ("RESERVED", 32), ("MLOCKED", 33), ("MAPPEDTODISK", 34), ("PRIVATE", 35), ("PRIVATE_2", 36),
    ("OWNER_PRIVATE", 37), ("ARCH", 38), ("UNCACHED", 39), ("SOFTDIRTY", 40), ("ARCH_2", 41))}

# ---- mem_section flags (include/linux/mmzone.h: section_mem_map's low bits), as crash's kmem -n shows them
SECTION_FLAGS: dict[str, int] = {"SECTION_MARKED_PRESENT": 1 << 0, "SECTION_HAS_MEM_MAP": 1 << 1,
                                 "SECTION_IS_ONLINE": 1 << 2, "SECTION_IS_EARLY": 1 << 3}

# ---- the simulator's limits: they bound memory and time per request
MAX_BLOCKS = 65_536          # memory blocks per machine
# live huge pages per machine: their numbers (head order) fit the int32 `hugepage` column of a resolve.
# What a huge page costs is bounded otherwise: the pool keeps runs of pages allocated together (a row
# each), the C replay pays per run and per page HVO optimises, the Python model per page, and every
# replay runs under the CPU-time budget (budget.py), which those loops tick.
MAX_HUGEPAGES = 1 << 30
MAX_BINS = 1_000_000         # bins of one window
MAX_RESOLVE = 1_000_000      # pfns of one resolve
