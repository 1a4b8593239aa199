"""Behaviour switches by kernel release, each naming the commit that introduced it.

Sources: kernel-model.md sections 3-4 (history tables) and mm/{memory_hotplug,hugetlb_vmemmap}.c.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KERNELS", "Kernel", "kernel_for", "LATEST"]

KERNELS: tuple[str, ...] = tuple(
    [f"5.{m}" for m in range(13, 20)] + [f"6.{m}" for m in range(0, 20)]
)
LATEST = KERNELS[-1]


@dataclass(frozen=True)
class Kernel:
    """One mainline release and the switches the simulator models."""

    version: str
    major: int
    minor: int

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)

    # --- memory_hotplug.memmap_on_memory --------------------------------------------------
    @property
    def mmo_force(self) -> bool:
        """"mm/memory_hotplug: support memmap_on_memory when memmap is not aligned to pageblocks" (v6.6)."""
        return self.at_least(6, 6)

    @property
    def mmo_per_block_altmap(self) -> bool:
        """"mm: use memmap_on_memory semantics for dax/kmem": ranges split into per-block altmaps (v6.8)."""
        return self.at_least(6, 8)

    @property
    def mmo_excluded_by_hvo(self) -> bool:
        """"mm: memory_hotplug: disable memmap_on_memory when hugetlb_free_vmemmap enabled" (v5.14-v5.18)."""
        return self.at_least(5, 14) and not self.at_least(5, 19)

    @property
    def hvo_overrides_mmo(self) -> bool:
        """"mm: memory_hotplug: override memmap_on_memory when hugetlb_free_vmemmap=on" (v5.19 only)."""
        return self.major == 5 and self.minor == 19

    @property
    def selfhosted_refusal(self) -> bool:
        """"mm: memory_hotplug: make hugetlb_optimize_vmemmap compatible with memmap_on_memory" (v6.0, 66361095129b)."""
        return self.at_least(6, 0)

    @property
    def memmap_pages_offline(self) -> bool:
        """"mm: initialize memmap of !ZONE_DEVICE with PageOffline() instead of PageReserved()" (v6.11)."""
        return self.at_least(6, 11)

    # --- HVO -------------------------------------------------------------------------------
    def hvo_available(self, arch: str) -> bool:
        """x86_64 since v5.14; arm64 from "arm64: mm: hugetlb: enable HUGETLB_PAGE_FREE_VMEMMAP" (v5.19)
        until "arm64: mm: hugetlb: Disable HUGETLB_PAGE_OPTIMIZE_VMEMMAP" (v6.3)."""
        if arch == "x86_64":
            return self.at_least(5, 14)
        return self.at_least(5, 19) and not self.at_least(6, 3)

    @property
    def hvo_reserve_pages(self) -> int:
        """Vmemmap pages kept per huge page: 2 until "mm: hugetlb_vmemmap: free the 2nd vmemmap page
        associated with each HugeTLB page" (v5.18), then 1."""
        return 1 if self.at_least(5, 18) else 2

    @property
    def hvo_head_copy(self) -> bool:
        """"mm: hugetlb_vmemmap: use a new page to replace the head vmemmap page"-style copy (v6.2, 11aad2631bf7)."""
        return self.at_least(6, 2)

    @property
    def hvo_copy_thisnode(self) -> bool:
        """The head copy was __GFP_THISNODE until "mm: hugetlb_vmemmap: allow alloc vmemmap pages fallback
        to other nodes" (v6.7)."""
        return not self.at_least(6, 7)

    @property
    def hvo_sysctl(self) -> bool:
        """/proc/sys/vm/hugetlb_optimize_vmemmap exists since v5.19."""
        return self.at_least(5, 19)

    @property
    def hvo_check_in_split(self) -> bool:
        """"mm: hugetlb_vmemmap: move PageVmemmapSelfHosted() check to split_vmemmap_huge_pmd()" (v6.8)."""
        return self.at_least(6, 8)


def kernel_for(version: str) -> Kernel:
    """Parse "6.8" into a Kernel; raises ValueError for releases outside the modelled range."""
    if version not in KERNELS:
        raise ValueError(f"unknown kernel version {version!r}: modelled releases are "
                         f"{KERNELS[0]} ... {LATEST}")
    major, minor = (int(x) for x in version.split("."))
    return Kernel(version, major, minor)
