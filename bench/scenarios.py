"""The benchmark machines S, M and L (issue: engine speed), H (HVO over many pages) and XL (issue 16:
tens of millions of huge pages allocated in runs), as scenario documents."""
from __future__ import annotations

__all__ = ["SCENARIOS"]


def scenario_s() -> dict:
    return {"name": "S: 4 GiB boot + 3 blocks", "kernel": "6.8",
            "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": "0x100000000", "size": "128M", "node": 0},
                    {"op": "add_memory", "start": "0x108000000", "size": "128M", "node": 0,
                     "memmap_on_memory": False},
                    {"op": "add_memory", "start": "0x110000000", "size": "128M", "node": 0},
                    {"op": "online", "start": "0x100000000", "size": "384M", "zone": "movable"},
                    {"op": "alloc_hugepages", "size": "2M", "count": 64, "node": 0}]}


def scenario_m() -> dict:
    return {"name": "M: 1 TiB in 8,192 blocks of 128 MiB, 100,000 2 MiB pages", "kernel": "6.8",
            "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": "0x100000000", "size": "1T", "node": 0},
                    {"op": "online", "start": "0x100000000", "size": "1T", "zone": "movable"},
                    {"op": "alloc_hugepages", "size": "2M", "count": 100_000, "node": 0}]}


def scenario_l() -> dict:
    return {"name": "L: 64 TiB (5-level) in 32,768 blocks of 2 GiB, 1M 2 MiB + 1,000 1 GiB pages",
            "kernel": "6.8",
            "machine": {"arch": "x86_64", "paging_levels": 5, "memory_block_size": "2G"},
            "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": "0x100000000", "size": "64T", "node": 0},
                    {"op": "online", "start": "0x100000000", "size": "64T", "zone": "normal"},
                    {"op": "alloc_hugepages", "size": "1G", "count": 1_000, "node": 0},
                    {"op": "alloc_hugepages", "size": "2M", "count": 1_000_000, "node": 0}]}


def scenario_h() -> dict:
    """HVO at work: 100,000 2 MiB pages in boot memory, each optimised (PMD splits, head copies,
    7 vmemmap pages freed per page)."""
    return {"name": "H: 256 GiB boot, 100,000 2 MiB pages optimised by HVO", "kernel": "6.8",
            "boot_memory": [{"start": "0x0", "size": "256G", "node": 0}],
            "ops": [{"op": "alloc_hugepages", "size": "2M", "count": 100_000, "node": 0}]}


def scenario_xl() -> dict:
    """64 TiB on 4-level paging, the whole physical address space of x86_64 4-level (MAX_PHYSMEM_BITS
    46): 4 GiB of boot RAM and 65,532 GiB hot-added with memmap_on_memory in 32,766 blocks of 2 GiB
    (the size probe_memory_block_size() picks on bare metal once boot RAM ends above 64 GiB; set here
    because this machine boots with 4 GiB), then nr_hugepages asks for more 2 MiB pages than there is
    memory, so every free 2 MiB of every block becomes a huge page (~33 M pages), HVO on: the pages in
    hot-added blocks are refused (self-hosted vmemmap), those in boot memory optimised."""
    return {"name": "XL: 64 TiB (4-level) in 32,768 blocks of 2 GiB, every free 2 MiB in HugeTLB (~33 M pages), "
                    "HVO on",
            "kernel": "6.8",
            "machine": {"arch": "x86_64", "paging_levels": 4, "memory_block_size": "2G"},
            "params": {"memmap_on_memory": "on", "hugetlb_free_vmemmap": True},
            "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": "0x100000000", "size": "65532G", "node": 0},
                    {"op": "online", "start": "0x100000000", "size": "65532G", "zone": "normal"},
                    {"op": "alloc_hugepages", "size": "2M", "count": 40_000_000, "node": 0}]}


SCENARIOS = {"S": scenario_s, "M": scenario_m, "H": scenario_h, "L": scenario_l, "XL": scenario_xl}
