"""arm64's vmemmap region by release and VA size, against the values of arch/arm64/include/asm/memory.h
(before 6.9: VMEMMAP_START = -(1 << (VA_BITS - VMEMMAP_SHIFT)); from 6.9, 32697ff38287: the region ends
at -1 GiB), with memstart 0x40000000 as on QEMU virt; and arm64's HVO history up to 7.3."""
from __future__ import annotations

import pytest

MEMSTART = 0x40000000

# (page size, VA_BITS, kernel, VMEMMAP_START): the kernel-model / source values
LAYOUTS = [
    ("4K", 48, "6.8", 0xfffffc0000000000), ("4K", 48, "6.9", 0xfffffdffc0000000),
    ("4K", 52, "6.9", 0xffffc1ffc0000000), ("4K", 52, "7.3", 0xffffc1ffc0000000),
    ("16K", 48, "6.1", 0xffffff0000000000), ("16K", 48, "6.12", 0xffffff7fc0000000),
    ("16K", 52, "7.3", 0xfffff03fc0000000),
    ("64K", 48, "6.8", 0xffffffc000000000), ("64K", 48, "6.9", 0xffffffdfc0000000),
    ("64K", 52, "6.8", 0xfffffc0000000000), ("64K", 52, "6.9", 0xfffffc1fc0000000),
]


def arm64(page_size: str, va_bits: int, kernel: str, ops=()) -> dict:
    return {"kernel": kernel, "machine": {"arch": "arm64", "page_size": page_size, "memstart": hex(MEMSTART),
                                          "va_bits": va_bits},
            "boot_memory": [{"start": hex(MEMSTART), "size": "2G", "node": 0}], "ops": list(ops)}


@pytest.mark.parametrize("page_size,va_bits,kernel,start", LAYOUTS)
def test_vmemmap_start_by_release_and_va_bits(ev, page_size, va_bits, kernel, start):
    m = ev(arm64(page_size, va_bits, kernel))
    ps = {"4K": 4096, "16K": 16384, "64K": 65536}[page_size]
    pfn = MEMSTART // ps + 0x100                       # 256 pages above memstart
    (r,) = m.resolve([pfn])
    assert int(r["struct_page_vaddr"], 16) == start + 0x100 * 64
    assert int(m.summary()["vmemmap_base"], 16) == start


def test_52_bit_va_with_small_pages_needs_6_9(ev):
    import engine
    with pytest.raises(engine.ScenarioError) as e:
        ev(arm64("4K", 52, "6.8"))
    assert e.value.loc == ("machine", "va_bits") and "came in 6.9" in e.value.msg
    with pytest.raises(engine.ScenarioError) as e:
        ev({"machine": {"arch": "x86_64", "va_bits": 52}})
    assert e.value.loc == ("machine", "va_bits") and "paging_levels" in e.value.msg


def test_52_bit_va_reaches_52_bit_physical_addresses(ev):
    add = {"op": "add_memory", "start": hex(1 << 50), "size": "128M"}
    assert ev(arm64("4K", 52, "7.3", [add])).events()[0]["outcome"] == "ok"
    import engine
    with pytest.raises(engine.ScenarioError) as e:
        ev(arm64("4K", 48, "7.3", [add]))
    assert e.value.loc == ("ops", 0, "start") and "48-bit physical address limit" in e.value.msg


@pytest.mark.parametrize("kernel,state", [("5.18", "not_optimizable"), ("5.19", "optimized"),
                                          ("6.2", "optimized"), ("6.3", "not_optimizable"),
                                          ("6.12", "not_optimizable"), ("7.3", "not_optimizable")])
def test_arm64_hvo_only_in_5_19_to_6_2(ev, kernel, state):
    """Debian's arm64 7.3 config has no HUGETLB_PAGE_OPTIMIZE_VMEMMAP either: never re-enabled."""
    m = ev(arm64("4K", 48, kernel, [{"op": "alloc_hugepages", "size": "2M", "count": 1}]))
    (hp,) = m.hugepages()
    assert hp["hvo"] == state
    if state == "not_optimizable":
        assert "only in 5.19-6.2" in hp["reason"]
