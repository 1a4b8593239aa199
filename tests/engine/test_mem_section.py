"""The Cython resolve's mem_section table against the Python twin, where it has its edges: section and
subsection boundaries (a block's altmap memmap, then the rest), roots left out on a sparse machine,
huge pages, HVO frames whose role the section answers, self-hosted frames freed by HVO (a hazard, where
the table stands aside) and pfns past the table."""
from __future__ import annotations

import os
from array import array

import numpy as np
import pytest

import engine

MiB, GiB = 1 << 20, 1 << 30

SCENARIOS = {
    # 2 GiB blocks, memmap_on_memory: the first section of each holds the altmap, the others one row
    "x86 2G blocks": {"kernel": "6.8", "machine": {"arch": "x86_64", "memory_block_size": "2G"},
                      "boot_memory": [{"start": "0x0", "size": "4G"}],
                      "ops": [{"op": "add_memory", "start": "0x100000000", "size": "8G"},
                              {"op": "online", "start": "0x100000000", "size": "6G", "zone": "movable"},
                              {"op": "alloc_hugepages", "size": "2M", "count": 300}]},
    # memory 4 TiB up: roots (32 GiB each) left out between, a block without memmap_on_memory
    "sparse": {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "2G"}],
               "ops": [{"op": "add_memory", "start": "0x40000000000", "size": "256M"},
                       {"op": "add_memory", "start": "0x40010000000", "size": "128M", "memmap_on_memory": False},
                       {"op": "online", "start": "0x40000000000", "size": "384M"},
                       {"op": "alloc_hugepages", "size": "2M", "count": 20}]},
    # HVO over boot memory: overlay runs, split PMDs, freed frames whose role a section answers
    "hvo": {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "6G"}],
            "ops": [{"op": "alloc_hugepages", "size": "2M", "count": 600},
                    {"op": "alloc_hugepages", "size": "1G", "count": 1}]},
    # a self-hosted memmap frame freed by HVO (policy none): the table leaves backing frames to the rows
    "hazard": {"kernel": "6.8", "params": {"selfhosted_check": "none"},
               "boot_memory": [{"start": 0, "size": "8G"}],
               "ops": [{"op": "add_memory", "start": "0x200000000", "size": "128M"},
                       {"op": "online", "start": "0x200000000", "size": "128M"},
                       {"op": "alloc_hugepage", "size": "2M", "at": "0x200200000"}]},
    # arm64, 64 KiB pages: 512 MiB sections, 32-pfn subsections
    "arm64 64K": {"kernel": "6.8", "machine": {"arch": "arm64", "page_size": "64K"},
                  "boot_memory": [{"start": "0x40000000", "size": "2G"}],
                  "ops": [{"op": "add_memory", "start": "0x100000000", "size": "2G"},
                          {"op": "online", "start": "0x100000000", "size": "1G"}]},
}


@pytest.fixture(scope="module")
def cython():
    try:
        from engine import _query_c  # noqa: F401
    except ImportError as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"engine._query_c must be importable under CI=true ({e})", pytrace=False)
        pytest.skip(f"engine._query_c not built ({e})")


def edge_pfns(m, shift: int, subshift: int) -> array:
    """Around every section and subsection boundary of each block (and the block's own edges),
    huge page heads and ends, random pfns and pfns past the top."""
    out = set()
    for b in m.blocks():
        s, e = int(b["start_pfn"], 16), int(b["end_pfn"], 16)
        for sec in range((s >> shift) - 1, ((e - 1) >> shift) + 2):
            base = sec << shift
            for sub in range(0, 1 << (shift - subshift), max(1, (1 << (shift - subshift)) // 16)):
                p = base + (sub << subshift)
                out.update((p - 1, p, p + 1))
            out.add(base + (1 << shift) - 1)
        out.update((s - 1, s, s + 1, e - 1, e, e + 1))
    for p in m.hugepages():
        h = int(p["head_pfn"], 16)
        out.update((h - 1, h, h + 1, h + 63, h + 64, h + 511, h + 512))
    top = max(int(b["end_pfn"], 16) for b in m.blocks())
    out.update(int(x) for x in np.random.default_rng(3).integers(0, top + (1 << shift), 3000))
    out.update((top, top + 1, (top >> shift << shift) + (3 << shift)))
    return array("q", sorted(p for p in out if 0 <= p < m.max_pfn))


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cython_resolve_matches_python_at_section_edges(cython, name):
    mp = engine.evaluate(SCENARIOS[name], impl="python")
    mc = engine.evaluate(SCENARIOS[name], impl="cython")
    arch = mp.arch
    shift = arch.pfn_section_shift
    pfns = edge_pfns(mp, shift, 21 - arch.page_shift)
    if name == "hazard":
        assert mp.summary()["role_pages"].get("hvo_freed_selfhosted", 0) > 0
    a, b = mp.resolve_columns(pfns), mc.resolve_columns(pfns)
    for col in a:
        bad = [hex(p) for p, x, y in zip(pfns, a[col], b[col]) if x != y]
        assert not bad, (col, len(bad), bad[:8])
