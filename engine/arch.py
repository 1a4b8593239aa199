"""Per-architecture facts as data: page size, sections, PMD, pageblock, vmemmap base, HugeTLB sizes,
and the behaviour that differs by architecture (how the vmemmap base and the linear map are chosen,
DMA zone limits, the releases with HVO, how the memory block size is probed). A new configuration
is one row of ARCHES; no code asks for an architecture by name.

Models arch/x86/include/asm/{sparsemem,pgtable_64_types}.h and arch/arm64/include/asm/{sparsemem,memory}.h
(48-bit VA, 6.9+ layout for arm64), as summarised in kernel-model.md section 1.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ScenarioError

__all__ = ["Arch", "ARCHES", "arch_for", "check_phys_range", "probe_memory_block_size", "zone_of_boot_pfn"]

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40


@dataclass(frozen=True)
class Arch:
    """Constants of one (arch, page size, paging levels) configuration."""

    key: str
    name: str               # "x86_64" | "arm64"
    page_size: int
    section_size_bits: int
    pmd_shift: int
    max_page_order: int
    pageblock_order: int
    vmemmap_start: int      # VMEMMAP_START without KASLR
    vmemmap_size: int       # size of the vmemmap region (VA)
    max_physmem_bits: int
    hugetlb_sizes: tuple[int, ...]
    vmemmap_pmd: bool       # vmemmap mapped with PMD leaves (else base pages only)
    paging_levels: int
    # the linear map: 0 = the vmemmap is indexed from pfn 0 and its base may be moved (x86 KASLR
    # randomises vmemmap_base in PUD steps); else ARM64_MEMSTART_ALIGN: VMEMMAP_START is fixed and
    # indexed from memstart, the DRAM base rounded down to this alignment
    memstart_align: int = 0
    # zones below Normal by physical address limit (x86: DMA < 16 MiB <= DMA32 < 4 GiB)
    dma_zones: tuple[tuple[str, int], ...] = (("DMA", 16 * MiB), ("DMA32", 4 * GiB))
    # arm64's ZONE_DMA spans the RAM below 4 GiB and is an ordinary fallback zone; x86's 16 MiB
    # ZONE_DMA stays kept back by lowmem_reserve
    dma_fallback: bool = False
    # releases with ARCH_WANT_HUGETLB_PAGE_OPTIMIZE_VMEMMAP: [first, end), end None = still there
    hvo_since: tuple[int, int] = (5, 14)
    hvo_until: tuple[int, int] | None = None
    hvo_history: str = ('"mm: hugetlb: introduce a new config HUGETLB_PAGE_FREE_VMEMMAP" (6be24bed9da3) '
                        'and "mm: hugetlb: free the vmemmap pages associated with each HugeTLB page" '
                        '(f41f2ed43ca5), v5.14')
    # memory_block_size_bytes(): "x86" = probe_memory_block_size() by boot RAM; "section" = one section
    memory_block_probe: str = "section"
    # where the vmemmap region lies: "constant" = vmemmap_start/vmemmap_size as given (x86's
    # VMEMMAP_START per paging mode); "arm64" = computed from VA_BITS and PAGE_SHIFT (vmemmap_region)
    vmemmap_formula: str = "constant"
    va_bits: tuple[int, ...] = (48,)        # VA sizes offered; the first is the default

    @property
    def page_shift(self) -> int:
        return self.page_size.bit_length() - 1

    @property
    def pfn_section_shift(self) -> int:
        return self.section_size_bits - self.page_shift

    @property
    def pages_per_section(self) -> int:
        return 1 << self.pfn_section_shift

    @property
    def pmd_size(self) -> int:
        return 1 << self.pmd_shift

    @property
    def ptrs_per_pte(self) -> int:
        """Base pages under one PMD (entries of one PTE table)."""
        return 1 << (self.pmd_shift - self.page_shift)

    @property
    def pageblock_nr_pages(self) -> int:
        return 1 << self.pageblock_order

    @property
    def max_phys(self) -> int:
        return 1 << self.max_physmem_bits

    def hugetlb_order(self, size: int) -> int:
        return (size // self.page_size).bit_length() - 1

    @property
    def vmemmap_randomised(self) -> bool:
        """x86: vmemmap_base is a variable (KASLR); arm64: VMEMMAP_START is a constant."""
        return not self.memstart_align

    def vmemmap_region(self, va_bits: int, below_1g: bool) -> tuple[int, int]:
        """(VMEMMAP_START, size) of the vmemmap region. arm64 (asm/memory.h): before 6.9
        VMEMMAP_START = -(1 << (VA_BITS - VMEMMAP_SHIFT)), VMEMMAP_SHIFT = PAGE_SHIFT - 6; from 6.9
        (below_1g) the region ends at -1 GiB and holds 64 bytes per page of the linear map below
        _PAGE_END(VA_BITS_MIN)."""
        if self.vmemmap_formula == "constant":
            return self.vmemmap_start, self.vmemmap_size
        top = 1 << 64
        va_min = va_bits if va_bits <= 48 else (47 if self.page_size == 16 * KiB else 48)   # VA_BITS_MIN
        linear = (1 << va_bits) - (1 << (va_min - 1))          # _PAGE_END(VA_BITS_MIN) - PAGE_OFFSET
        if below_1g:
            size = (linear >> self.page_shift) * 64
            return top - GiB - size, size
        shift = self.page_shift - 6
        return top - (1 << (va_bits - shift)), linear >> shift

    def hvo_built(self, release: tuple[int, int]) -> bool:
        """Whether this architecture selects HVO in that release."""
        return self.hvo_since <= release and (self.hvo_until is None or release < self.hvo_until)


_ARM64 = dict(dma_zones=(("DMA", 4 * GiB),), dma_fallback=True, hvo_since=(5, 19), hvo_until=(6, 3),
              vmemmap_formula="arm64", va_bits=(48, 52),
              hvo_history=('"arm64: mm: hugetlb: enable HUGETLB_PAGE_FREE_VMEMMAP for arm64" (1e63ac088f20, '
                           'v5.19) until "arm64: mm: hugetlb: Disable HUGETLB_PAGE_OPTIMIZE_VMEMMAP" '
                           '(060a2c92d1b6, v6.3)'))


ARCHES: dict[str, Arch] = {
    a.key: a for a in (
        Arch("x86_64-4K-L4", "x86_64", 4 * KiB, 27, 21, 10, 9, 0xffffea0000000000, 1 * TiB, 46,
             (2 * MiB, 1 * GiB), True, 4, memory_block_probe="x86"),
        Arch("x86_64-4K-L5", "x86_64", 4 * KiB, 27, 21, 10, 9, 0xffd4000000000000, 512 * TiB, 52,
             (2 * MiB, 1 * GiB), True, 5, memory_block_probe="x86"),
        Arch("arm64-4K", "arm64", 4 * KiB, 27, 21, 10, 9, 0xfffffdffc0000000, 2 * TiB, 48,
             (64 * KiB, 2 * MiB, 32 * MiB, 1 * GiB), True, 4, 1 * GiB, **_ARM64),
        Arch("arm64-16K", "arm64", 16 * KiB, 27, 25, 11, 11, 0xffffff7fc0000000, 512 * GiB, 48,
             (2 * MiB, 32 * MiB, 1 * GiB), False, 4, 1 * GiB, **_ARM64),
        Arch("arm64-64K", "arm64", 64 * KiB, 29, 29, 13, 13, 0xffffffdfc0000000, 128 * GiB, 48,
             (2 * MiB, 512 * MiB, 16 * GiB), False, 3, 512 * MiB, **_ARM64),
    )
}


def arch_for(name: str, page_size: int, paging_levels: int) -> Arch:
    """Pick the configuration; raises ValueError naming what is not offered. paging_levels matters
    only where a page size comes with several (x86_64 4- and 5-level)."""
    rows = [a for a in ARCHES.values() if a.name == name]
    if not rows:
        raise ValueError(f"arch must be {' or '.join(sorted({a.name for a in ARCHES.values()}))}")
    sizes = sorted({a.page_size for a in rows})
    rows = [a for a in rows if a.page_size == page_size]
    if not rows:
        if len(sizes) == 1:
            raise ValueError(f"{name} has {sizes[0] >> 10}K pages only")
        raise ValueError(f"{name} page_size must be {', '.join(f'{s >> 10}K' for s in sizes[:-1])} "
                         f"or {sizes[-1] >> 10}K")
    if len(rows) == 1:
        return rows[0]
    levels = [a for a in rows if a.paging_levels == paging_levels]
    if not levels:
        raise ValueError(f"{name} paging_levels must be {' or '.join(str(a.paging_levels) for a in rows)}")
    return levels[0]


def check_phys_range(arch: Arch, loc: tuple, start: int, size: int) -> None:
    """ScenarioError at loc + ("start",) or ("size",) when [start, start + size) passes MAX_PHYSMEM_BITS."""
    if start >= arch.max_phys:
        raise ScenarioError(loc + ("start",), f"{hex(start)} is beyond the {arch.max_physmem_bits}-bit "
                            f"physical address limit ({hex(arch.max_phys)}) of {arch.key}")
    if start + size > arch.max_phys:
        raise ScenarioError(loc + ("size",), f"range ends beyond the {arch.max_physmem_bits}-bit physical "
                            f"address limit ({hex(arch.max_phys)}) of {arch.key}")


def probe_memory_block_size(arch: Arch, boot_end: int, hypervisor: bool) -> int:
    """memory_block_size_bytes(): x86 probe_memory_block_size(), else one section (drivers/base/memory.c)."""
    section = 1 << arch.section_size_bits
    if arch.memory_block_probe != "x86":
        return section
    # x86/mm: "use max memory block size on bare metal" (v5.9); below 64 GiB of boot RAM, 128 MiB.
    if boot_end < 64 * GiB:
        return 128 * MiB
    if not hypervisor:
        return 2 * GiB
    bz = 2 * GiB
    while bz > 128 * MiB:
        if boot_end % bz == 0:
            return bz
        bz >>= 1
    return 128 * MiB


def zone_of_boot_pfn(arch: Arch, pfn: int) -> str:
    """Zone of boot memory by address: x86 DMA < 16 MiB <= DMA32 < 4 GiB <= Normal; arm64 DMA < 4 GiB."""
    addr = pfn * arch.page_size
    for zone, limit in arch.dma_zones:
        if addr < limit:
            return zone
    return "Normal"
