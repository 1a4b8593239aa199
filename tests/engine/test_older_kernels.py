"""Kernel behaviour of releases before the current one, each from the kernel source, against both
implementations: the restore's __GFP_THISNODE before 6.7, try_remove_memory()'s altmap granularity
before and from 6.8, and the per-block vmemmap mapping once HVO split a PMD."""
from __future__ import annotations

import pytest

G128 = 0x100000000          # a 128 MiB DIMM at 4 GiB, on node 1


def full_node_1(kernel: str) -> dict:
    """Node 1: one block, its memmap from node 0 (memmap_on_memory off), filled with optimised 2 MiB
    pages, so nothing of node 1 is free when one of them is given back."""
    return {"kernel": kernel, "params": {"memmap_on_memory": "off", "hugetlb_free_vmemmap": True},
            "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": hex(G128), "size": "128M", "node": 1},
                    {"op": "online", "start": hex(G128), "size": "128M", "zone": "movable"},
                    {"op": "alloc_hugepages", "size": "2M", "count": 64, "node": 1},
                    {"op": "free_hugepages", "size": "2M", "count": 1, "node": 1},
                    {"op": "offline", "start": hex(G128), "size": "128M"}]}


@pytest.mark.parametrize("kernel", ["6.1", "6.6"])
def test_restore_is_thisnode_before_6_7_so_the_free_and_the_offline_fail(ev, kernel):
    m = ev(full_node_1(kernel))
    ev_alloc, ev_free, ev_off = m.events()[2:]
    assert ev_alloc["allocated"] == 64 and ev_alloc["optimized"] == 64
    assert ev_free["outcome"] == "failed"
    assert "on node 1 (__GFP_THISNODE before 6.7)" in ev_free["message"] and "surplus" in ev_free["message"]
    assert m.summary()["hugetlb_pages"] == 64 * 512             # the page stayed in the pool
    assert ev_off["outcome"] == "refused" and "failure to dissolve huge pages" in ev_off["message"]
    assert "__GFP_THISNODE" in ev_off["message"]


@pytest.mark.parametrize("kernel", ["6.7", "6.12", "7.3"])
def test_restore_falls_back_to_other_nodes_from_6_7(ev, kernel):
    sc = full_node_1(kernel)
    m = ev({**sc, "ops": sc["ops"][:4]})
    assert m.events()[-1]["outcome"] == "ok" and m.summary()["hugetlb_pages"] == 63 * 512
    # the freed page (the highest head) got its tail vmemmap pages back from node 0
    head = 0x100000 + 63 * 512
    assert m.resolve([head])[0]["hugepage"] is None
    assert int(m.resolve([head + 64])[0]["backing_pfn"], 16) < G128 >> 12
    assert ev(sc).events()[-1]["outcome"] == "ok"        # the 63 others dissolve too


def two_altmap_blocks(kernel: str, third_without: bool) -> dict:
    ops = [{"op": "add_memory", "start": hex(G128 + i * (128 << 20)), "size": "128M", "node": 0}
           for i in range(2)]
    if third_without:
        ops.append({"op": "add_memory", "start": hex(G128 + (256 << 20)), "size": "128M", "node": 0,
                    "memmap_on_memory": False})
    size = f"{(3 if third_without else 2) * 128}M"
    return {"kernel": kernel, "params": {"memmap_on_memory": "on", "hugetlb_free_vmemmap": False},
            "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": ops + [{"op": "offline", "start": hex(G128), "size": size},
                          {"op": "remove_memory", "start": hex(G128), "size": size}]}


@pytest.mark.parametrize("kernel", ["5.13", "6.1", "6.7"])
def test_before_6_8_memory_with_an_altmap_is_removed_one_block_at_a_time(ev, kernel):
    m = ev(two_altmap_blocks(kernel, third_without=False))
    assert all(b["memmap"]["where"] == "self" for b in m.blocks() if not b["boot"])
    rm = m.events()[-1]
    assert rm["outcome"] == "refused"
    assert f"Refuse to remove {G128:#x} - {G128 + (256 << 20):#x},wrong granularity" in rm["message"]
    one = two_altmap_blocks(kernel, third_without=False)
    one["ops"][-1] = {"op": "remove_memory", "start": hex(G128), "size": "128M"}
    assert ev(one).events()[-1]["outcome"] == "ok"


@pytest.mark.parametrize("kernel", ["6.8", "6.12", "7.3"])
def test_from_6_8_a_range_must_have_altmaps_in_all_its_blocks_or_none(ev, kernel):
    assert ev(two_altmap_blocks(kernel, third_without=False)).events()[-1]["outcome"] == "ok"
    m = ev(two_altmap_blocks(kernel, third_without=True))
    rm = m.events()[-1]
    assert rm["outcome"] == "refused" and "memory_blocks_have_altmaps(): 2 of the 3 memory blocks" in rm["message"]
    assert len([b for b in m.blocks() if not b["boot"]]) == 3          # nothing was removed


@pytest.mark.parametrize("kernel", ["6.1", "6.8", "7.3"])
def test_evaluate_says_pte_once_hvo_split_the_blocks_vmemmap_pmd(ev, kernel):
    sc = {"kernel": kernel, "params": {"hugetlb_free_vmemmap": True},
          "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
          "ops": [{"op": "alloc_hugepages", "size": "2M", "count": 1, "node": 0}]}
    m = ev(sc)
    (hp,) = m.hugepages()
    head = int(hp["head_pfn"], 16)
    assert hp["hvo"] == "optimized" and m.resolve([head])[0]["mapping"] == "pte"
    block = next(b for b in m.blocks() if int(b["start_pfn"], 16) <= head < int(b["end_pfn"], 16))
    assert "pte" in block["memmap"]["mapping"].split("/")
    # a block whose vmemmap PMDs HVO did not touch stays "pmd"
    far = next(b for b in m.blocks() if int(b["start_pfn"], 16) > head + 0x10000)
    assert far["memmap"]["mapping"] == "pmd" and m.resolve([int(far["start_pfn"], 16)])[0]["mapping"] == "pmd"
