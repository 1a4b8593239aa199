"""Built-in scenarios and the machine presets the front end offers."""
from __future__ import annotations

from typing import Any

from .arch import ARCHES
from .kernel import KERNELS
from .units import format_size

__all__ = ["DEFAULT_SCENARIO", "presets"]

DEFAULT_SCENARIO: dict[str, Any] = {
    "schema_version": 1,
    "name": "memmap_on_memory: the page that describes itself",
    "machine": {"arch": "x86_64", "page_size": "4K", "paging_levels": 4, "struct_page_size": 64,
                "memory_block_size": "auto", "vmemmap_base": None, "memstart": None},
    "kernel": "6.8",
    "params": {"memmap_on_memory": "on", "hugetlb_free_vmemmap": True, "selfhosted_check": "merged"},
    "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
    "ops": [
        {"op": "add_memory", "start": "0x100000000", "size": "128M", "node": 0, "memmap_on_memory": True},
        {"op": "online", "start": "0x100000000", "size": "128M", "zone": "movable"},
        {"op": "add_memory", "start": "0x108000000", "size": "128M", "node": 0, "memmap_on_memory": False},
        {"op": "online", "start": "0x108000000", "size": "128M", "zone": "movable"},
        {"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"},
        {"op": "alloc_hugepage", "size": "2M", "at": "0x108200000"},
    ],
}


def presets() -> dict[str, Any]:
    """Machines and kernel versions offered, with their constants."""
    return {
        "machines": [{
            "key": a.key, "arch": a.name, "page_size": format_size(a.page_size),
            "paging_levels": a.paging_levels, "section_size": format_size(1 << a.section_size_bits),
            "pmd_size": format_size(a.pmd_size), "pageblock_order": a.pageblock_order,
            "max_page_order": a.max_page_order, "vmemmap_start": hex(a.vmemmap_start),
            "max_physmem_bits": a.max_physmem_bits, "vmemmap_mapping": "pmd" if a.vmemmap_pmd else "pte",
            "hugetlb_sizes": [format_size(s) for s in a.hugetlb_sizes]} for a in ARCHES.values()],
        "kernels": list(KERNELS),
    }
