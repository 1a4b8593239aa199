"""Behaviour switches by kernel release, one row each, naming the commit that introduced it.

A switch is on from its first release (and off again from `until`, where a later commit reverted
it); off means the older behaviour. Code asks `kernel.<switch name>`. The C replay accelerator
names the switches it implements (engine/_replay_c.pyx SWITCHES); a machine whose kernel has a
switch on that the accelerator does not name is replayed by the Python model alone, so a new
behaviour is correct after one row here and one change in the Python model.

Sources: kernel-model.md sections 3-4 (history tables), mm/{memory_hotplug,hugetlb_vmemmap}.c, and
for each subject and hash the mainline commit as quoted by later Fixes: tags, stable mails and the
merge-window pull requests. Kernels before the first switch (5.13: a08a2ae34613
"mm,memory_hotplug: allocate memmap from the added memory range") have none on.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KERNELS", "Kernel", "Switch", "SWITCHES", "kernel_for", "LATEST"]

KERNELS: tuple[str, ...] = tuple(
    [f"5.{m}" for m in range(13, 20)] + [f"6.{m}" for m in range(0, 20)] + [f"7.{m}" for m in range(0, 4)]
)
LATEST = KERNELS[-1]


@dataclass(frozen=True)
class Switch:
    """One behaviour change: on in [since, until)."""

    name: str
    since: tuple[int, int]
    commit: str                     # 12-hex abbreviated hash
    subject: str                    # the commit's subject line, exactly ("" where only measured)
    until: tuple[int, int] | None = None
    reverted_by: str = ""           # "hash subject" of the commit that ended it
    measured: str = ""              # where no commit is known: the measurement the switch follows


SWITCHES: tuple[Switch, ...] = (
    # ---- memory_hotplug.memmap_on_memory
    Switch("mmo_excluded_by_hvo", (5, 14), "4bab4964a59f",
           "mm: memory_hotplug: disable memmap_on_memory when hugetlb_free_vmemmap enabled",
           until=(5, 19), reverted_by="6e02c46b4d97 mm: memory_hotplug: override memmap_on_memory when "
           "hugetlb_free_vmemmap=on"),
    Switch("hvo_overrides_mmo", (5, 19), "6e02c46b4d97",
           "mm: memory_hotplug: override memmap_on_memory when hugetlb_free_vmemmap=on",
           until=(6, 0), reverted_by="66361095129b mm: memory_hotplug: make hugetlb_optimize_vmemmap "
           "compatible with memmap_on_memory"),
    Switch("selfhosted_refusal", (6, 0), "66361095129b",
           "mm: memory_hotplug: make hugetlb_optimize_vmemmap compatible with memmap_on_memory"),
    Switch("mmo_force", (6, 6), "2d1f649c7c08",
           "mm/memory_hotplug: support memmap_on_memory when memmap is not aligned to pageblocks"),
    Switch("mmo_per_block_altmap", (6, 8), "6b8f0798b85a",
           "mm/memory_hotplug: split memmap_on_memory requests across memblocks"),
    Switch("memmap_pages_offline", (6, 11), "b873faaa609a",
           "mm/memory_hotplug: initialize memmap of !ZONE_DEVICE with PageOffline() instead of PageReserved()"),
    # ---- HVO (whether the architecture has it at all is Arch.hvo_since/hvo_until)
    Switch("hvo_free_2nd_vmemmap_page", (5, 18), "e7d324850bfc",
           "mm: hugetlb: free the 2nd vmemmap page associated with each HugeTLB page"),
    Switch("hvo_sysctl", (5, 19), "78f39084b41d",
           "mm: hugetlb_vmemmap: add hugetlb_optimize_vmemmap sysctl"),
    Switch("hvo_head_copy", (6, 2), "11aad2631bf7",
           "mm/hugetlb_vmemmap: remap head page to newly allocated page"),
    Switch("hvo_alloc_fallback", (6, 7), "6a898c2757af",
           "mm: hugetlb_vmemmap: allow alloc vmemmap pages fallback to other nodes"),
    Switch("hvo_check_in_split", (6, 8), "be035a2acf1f",
           "mm: hugetlb_vmemmap: move PageVmemmapSelfHosted() check to split_vmemmap_huge_pmd()"),
    # ---- arm64's VA layout (the architecture's own formula reads these: Arch.vmemmap_region)
    Switch("arm64_vmemmap_below_1g", (6, 9), "32697ff38287",
           "arm64: vmemmap: Avoid base2 order of struct page size to dimension region"),
    Switch("arm64_52bit_small_pages", (6, 9), "352b0395b505",
           "arm64: Enable 52-bit virtual addressing for 4k and 16k granule configs"),
    # ---- Linux 7.x
    Switch("movable_gigantic_pages_sysctl", (7, 0), "9e80e66ddaf7",
           "mm, hugetlb: implement movable_gigantic_pages sysctl"),
    Switch("hvo_shared_tails", (7, 1), "622026e87c40", "mm/hugetlb: remove fake head pages"),
    Switch("hvo_head_copy_required", (7, 1), "c0b495b91a47", "mm/hugetlb: refactor code around vmemmap_walk"),
    Switch("boot_memmap_per_section", (7, 2), "", "",
           measured="kernel-gt/7.3 vmemmap_leaves_0_boot.csv (Debian 7.3.4; 7.2.13 the same): each "
           "section's memmap is its own top-down memblock allocation, sparse_buffer is gone (from Muchun "
           "Song's \"mm/sparse: remove sparse_buffer\", posted 2026-04-07, after the 7.1 merge window)"),
)
SWITCH_NAMES = frozenset(s.name for s in SWITCHES)


@dataclass(frozen=True)
class Kernel:
    """One mainline release and the switches on in it."""

    version: str
    major: int
    minor: int
    on: frozenset[str]

    @property
    def release(self) -> tuple[int, int]:
        return self.major, self.minor

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)

    def __getattr__(self, name: str) -> bool:
        # kernel.<switch> for every row of SWITCHES (dataclass fields never reach here)
        if name in SWITCH_NAMES:
            return name in self.on
        raise AttributeError(name)

    # ---- values derived from switches
    @property
    def hvo_reserve_pages(self) -> int:
        """Vmemmap pages kept per huge page: 2, then 1 from hvo_free_2nd_vmemmap_page."""
        return 1 if self.hvo_free_2nd_vmemmap_page else 2

    @property
    def hvo_copy_thisnode(self) -> bool:
        """The head copy (and the restore) allocate with __GFP_THISNODE until hvo_alloc_fallback."""
        return not self.hvo_alloc_fallback

    def hvo_available(self, arch) -> bool:
        """Whether the architecture selects HVO in this release (Arch.hvo_since/hvo_until)."""
        return arch.hvo_built(self.release)


def switches_on(release: tuple[int, int]) -> frozenset[str]:
    """The names of the switches on in a release."""
    return frozenset(s.name for s in SWITCHES if s.since <= release and (s.until is None or release < s.until))


def kernel_for(version: str) -> Kernel:
    """Parse "6.8" into a Kernel; raises ValueError for releases outside the modelled range."""
    if version not in KERNELS:
        raise ValueError(f"unknown kernel version {version!r}: modelled releases are "
                         f"{KERNELS[0]} ... {LATEST}")
    major, minor = (int(x) for x in version.split("."))
    return Kernel(version, major, minor, switches_on((major, minor)))
