"""Per-architecture constants: page size, sections, PMD, pageblock, vmemmap base, HugeTLB sizes.

Models arch/x86/include/asm/{sparsemem,pgtable_64_types}.h and arch/arm64/include/asm/{sparsemem,memory}.h
(48-bit VA, 6.9+ layout for arm64), as summarised in kernel-model.md section 1.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Arch", "ARCHES", "arch_for", "probe_memory_block_size", "zone_of_boot_pfn"]

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
    memstart_align: int = 0  # arm64 ARM64_MEMSTART_ALIGN

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


ARCHES: dict[str, Arch] = {
    a.key: a for a in (
        Arch("x86_64-4K-L4", "x86_64", 4 * KiB, 27, 21, 10, 9, 0xffffea0000000000, 1 * TiB, 46,
             (2 * MiB, 1 * GiB), True, 4),
        Arch("x86_64-4K-L5", "x86_64", 4 * KiB, 27, 21, 10, 9, 0xffd4000000000000, 512 * TiB, 52,
             (2 * MiB, 1 * GiB), True, 5),
        Arch("arm64-4K", "arm64", 4 * KiB, 27, 21, 10, 9, 0xfffffdffc0000000, 2 * TiB, 48,
             (64 * KiB, 2 * MiB, 32 * MiB, 1 * GiB), True, 4, 1 * GiB),
        Arch("arm64-16K", "arm64", 16 * KiB, 27, 25, 11, 11, 0xffffff7fc0000000, 512 * GiB, 48,
             (2 * MiB, 32 * MiB, 1 * GiB), False, 4, 1 * GiB),
        Arch("arm64-64K", "arm64", 64 * KiB, 29, 29, 13, 13, 0xffffffdfc0000000, 128 * GiB, 48,
             (2 * MiB, 512 * MiB, 16 * GiB), False, 3, 512 * MiB),
    )
}


def arch_for(name: str, page_size: int, paging_levels: int) -> Arch:
    """Pick the configuration; raises ValueError naming what is not offered."""
    if name == "x86_64":
        if page_size != 4 * KiB:
            raise ValueError("x86_64 has 4K pages only")
        if paging_levels not in (4, 5):
            raise ValueError("x86_64 paging_levels must be 4 or 5")
        return ARCHES[f"x86_64-4K-L{paging_levels}"]
    if name == "arm64":
        key = {4 * KiB: "arm64-4K", 16 * KiB: "arm64-16K", 64 * KiB: "arm64-64K"}.get(page_size)
        if key is None:
            raise ValueError("arm64 page_size must be 4K, 16K or 64K")
        return ARCHES[key]
    raise ValueError("arch must be x86_64 or arm64")


def probe_memory_block_size(arch: Arch, boot_end: int, hypervisor: bool) -> int:
    """memory_block_size_bytes(): x86 probe_memory_block_size(), else one section (drivers/base/memory.c)."""
    section = 1 << arch.section_size_bits
    if arch.name != "x86_64":
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
    if arch.name == "x86_64":
        if addr < 16 * MiB:
            return "DMA"
        return "DMA32" if addr < 4 * GiB else "Normal"
    return "DMA" if addr < 4 * GiB else "Normal"
