"""What a physical page frame is used for, as the map colours it, and how a vmemmap page is mapped."""
from __future__ import annotations

__all__ = ["ROLES", "ROLE_CODE", "MAPPINGS", "UNMOVABLE", "MEMMAP_ROLES"]

# (code order is the wire format of /window: never reorder, only append)
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
)
ROLE_CODE: dict[str, int] = {name: i for i, (name, _) in enumerate(ROLES)}
MAPPINGS: tuple[str | None, ...] = (None, "pmd", "pte")
MEMMAP_ROLES = frozenset(ROLE_CODE[r] for r in ("memmap_boot", "memmap_buddy", "memmap_self"))
# Frames the kernel cannot migrate away when offlining the block that holds them.
UNMOVABLE = frozenset(ROLE_CODE[r] for r in (
    "memmap_boot", "memmap_buddy", "page_table", "vmemmap_hvo_head", "vmemmap_restored"))
