"""Events say what the kernel did on the side and why it did not do more, in the kernel's terms,
against both implementations."""
from __future__ import annotations

import copy

import engine


def test_offlining_a_block_says_which_huge_page_it_dissolved_and_where_the_vmemmap_went(ev):
    sc = copy.deepcopy(engine.DEFAULT_SCENARIO)            # 0x108200: an optimised 2 MiB page in memory33
    sc["ops"].append({"op": "offline", "start": "0x108000000", "size": "128M"})
    m = ev(sc)
    off = m.events()[-1]
    assert off["outcome"] == "ok" and off["message"].startswith("offline memory33; dissolved the free 2M HugeTLB "
                                                                "page at pfn 0x108200: its vmemmap was restored")
    (effect,) = off["effects"]
    first = int(effect.split("into pfns ")[1].split("-")[0], 16)
    # the restored tail vmemmap pages are the frames resolve now finds behind the tail struct pages
    (tail,) = m.resolve([0x108200 + 64])
    assert int(tail["backing_pfn"], 16) == first and "(7 pages)" in effect
    assert m.resolve([first])[0]["role"] == "vmemmap_restored"


def test_a_gigantic_page_refused_from_zone_movable_says_why_until_the_sysctl_allows_it(ev):
    sc = {"kernel": "7.3", "params": {"memhp_default_state": "online_movable"},
          "boot_memory": [{"start": "0x0", "size": "2G", "node": 0}],
          "ops": [{"op": "add_memory", "start": "0x100000000", "size": "2G", "node": 1, "memmap_on_memory": False},
                  {"op": "alloc_hugepages", "size": "1G", "count": 1, "node": 1},
                  {"op": "sysctl", "movable_gigantic_pages": True},
                  {"op": "alloc_hugepages", "size": "1G", "count": 1, "node": 1}]}
    refused, sysctl, allowed = ev(sc).events()[1:]
    assert refused["outcome"] == "failed" and refused["allocated"] == 0
    assert "never come from ZONE_MOVABLE" in refused["message"] and "vm.movable_gigantic_pages is 0" in refused["message"]
    assert sysctl["outcome"] == "ok" and allowed["allocated"] == 1
    old = copy.deepcopy(sc)
    old["kernel"] = "6.12"
    refused, sysctl = ev(old).events()[1:3]
    assert "vm.movable_gigantic_pages came in 7.0" in refused["message"]
    assert sysctl["outcome"] == "refused" and "no such sysctl in 6.12" in sysctl["message"]


def test_memmap_on_memory_blocks_leave_no_aligned_run_for_a_gigantic_page(ev):
    sc = {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "1G", "node": 0}],
          "ops": [{"op": "add_memory", "start": "0x100000000", "size": "2G", "node": 1},
                  {"op": "online", "start": "0x100000000", "size": "2G"},
                  {"op": "alloc_hugepages", "size": "1G", "count": 1, "node": 1},
                  {"op": "alloc_hugepages", "size": "2M", "count": 1, "node": 1}]}
    m = ev(sc)
    big, small = m.events()[2:]
    assert big["allocated"] == 0 and "memmap_on_memory" in big["message"] and "spans 8 memory blocks" in big["message"]
    assert small["allocated"] == 1                          # a 2 MiB run fits after each block's memmap
