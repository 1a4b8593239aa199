"""/evaluate, /resolve and /window: the reference's test vectors (kernel-model.md §6) asked over HTTP."""
from __future__ import annotations

import pytest

TV1 = {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
       "ops": [{"op": "add_memory", "start": "0x100000000", "size": "128M", "node": 0, "memmap_on_memory": True},
               {"op": "online", "start": "0x100000000", "size": "128M", "zone": "movable"},
               {"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}]}


def post(client, path, body, status=200):
    r = client.post("/api/v1/" + path, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def test_tv1_tv3_tv4_evaluate_block_and_refused_hugepage(client):
    doc = post(client, "evaluate", {"scenario": TV1})
    blk = next(b for b in doc["blocks"] if b["id"] == 32)
    assert blk["name"] == "memory32" and blk["start"] == "0x100000000" and blk["size"] == "128M"
    assert (blk["state"], blk["zone"], blk["node"]) == ("online", "Movable", 0)
    assert blk["memmap"] == {"where": "self", "start_pfn": "0x100000", "nr_pages": 512, "reserved_pages": 512,
                             "mapping": "pmd", "holder_block": 32}
    assert blk["memmap_on_memory"]["used"] is True
    assert blk["self_mapping_pfn"] == "0x100000"
    # TV-3: managed grows by 32256 pages, not 32768
    boot = post(client, "evaluate", {"scenario": {**TV1, "ops": []}})
    assert doc["totals"]["present_pages"] - boot["totals"]["present_pages"] == 32768
    assert doc["totals"]["managed_pages"] - boot["totals"]["managed_pages"] == 32256
    # TV-4: the 2M page at 0x100200000 is refused, nothing freed
    (hp,) = doc["hugepages"]
    assert hp["head_pfn"] == "0x100200" and hp["size"] == "2M" and hp["block"] == 32
    assert hp["hvo"] == "refused" and hp["freed_pages"] == 0 and hp["vmemmap_pages"] == 8
    assert "0x100008" in hp["reason"] and "PageVmemmapSelfHosted" in hp["reason"]
    assert hp["vmemmap_vaddr"] == "0xffffea0004008000"
    assert [e["outcome"] for e in doc["events"]] == ["ok", "ok", "ok"]
    assert [e["index"] for e in doc["events"]] == [0, 1, 2]
    assert doc["hugepages_total"] == 1 and doc["scenario_id"] is None


def test_tv5_same_page_without_memmap_on_memory_is_optimised(client):
    sc = {**TV1, "ops": [dict(TV1["ops"][0], memmap_on_memory=False), *TV1["ops"][1:]]}
    doc = post(client, "evaluate", {"scenario": sc})
    (hp,) = doc["hugepages"]
    assert (hp["hvo"], hp["freed_pages"]) == ("optimized", 7)
    assert next(b for b in doc["blocks"] if b["id"] == 32)["memmap"]["where"] == "buddy"
    assert doc["totals"]["hvo_freed_pages"] == 7


@pytest.mark.parametrize("kernel,freed", [("5.15", 6), ("6.1", 7)])
def test_tv6_freed_pages_by_kernel_version(client, kernel, freed):
    sc = {"kernel": kernel, "ops": [{"op": "alloc_hugepage", "size": "2M", "at": "0x40000000"}]}
    (hp,) = post(client, "evaluate", {"scenario": sc})["hugepages"]
    assert (hp["hvo"], hp["freed_pages"]) == ("optimized", freed)


def test_tv1_tv2_resolve_pages(client):
    doc = post(client, "resolve", {"scenario": TV1, "pfns": ["0x100000", 0x107fff, "0x100200", "0x100008"]})
    p0, last, p200, p8 = doc["pages"]
    assert p0 == {"pfn": "0x100000", "phys_addr": "0x100000000", "node": 0, "zone": "Movable", "block": 32,
                  "section": 32, "state": "online", "struct_page_vaddr": "0xffffea0004000000",
                  "backing_pfn": "0x100000", "mapping": "pmd", "role": "memmap_self", "self_hosted": True,
                  "maps_to_itself": True, "hugepage": None,
                  "kpageflags": "0x2100000000", "kpageflags_names": ["RESERVED", "OWNER_PRIVATE"]}
    assert (last["struct_page_vaddr"], last["backing_pfn"]) == ("0xffffea00041fffc0", "0x1001ff")
    # TV-2 chain: 0x100200 -> 0x100008 -> 0x100000
    assert p200["backing_pfn"] == "0x100008" and p200["role"] == "hugetlb_head"
    assert p200["hugepage"]["hvo"] == "refused" and p200["hugepage"]["head_pfn"] == "0x100200"
    assert p8["backing_pfn"] == "0x100000" and p8["maps_to_itself"] is False


def test_tv8_five_level_and_kaslr_base(client):
    five = {**TV1, "machine": {"paging_levels": 5}}
    (p,) = post(client, "resolve", {"scenario": five, "pfns": ["0x100000"]})["pages"]
    assert p["struct_page_vaddr"] == "0xffd4000004000000" and p["backing_pfn"] == "0x100000"
    kaslr = {**TV1, "machine": {"vmemmap_base": "0xffffd1a240000000"}}
    (p,) = post(client, "resolve", {"scenario": kaslr, "pfns": ["0x100000"]})["pages"]
    assert p["struct_page_vaddr"] == "0xffffd1a244000000" and p["backing_pfn"] == "0x100000"


def test_tv10_acpi_dimm_per_block_memmaps_by_version(client):
    ops = [{"op": "add_memory", "start": "0x100000000", "size": "1G", "node": 0},
           {"op": "online", "start": "0x100000000", "size": "1G"}]
    new = post(client, "evaluate", {"scenario": {"kernel": "6.8", "ops": ops}})
    hot = [b for b in new["blocks"] if not b["boot"]]
    assert [b["name"] for b in hot] == [f"memory{i}" for i in range(32, 40)]
    assert [b["self_mapping_pfn"] for b in hot] == [hex(0x100000 + 0x8000 * i) for i in range(8)]
    old = post(client, "evaluate", {"scenario": {"kernel": "6.7", "ops": ops}})
    hot = [b for b in old["blocks"] if not b["boot"]]
    assert {b["memmap"]["where"] for b in hot} == {"buddy"}
    assert all(b["memmap_on_memory"]["used"] is False for b in hot)


def test_tv13_arm64_16k_refuses_memmap_on_memory_with_a_reason(client):
    sc = {"machine": {"arch": "arm64", "page_size": "16K", "memstart": "0x40000000"}, "kernel": "6.8",
          "boot_memory": [{"start": "0x40000000", "size": "4G"}],
          "ops": [{"op": "add_memory", "start": "0x200000000", "size": "128M"}]}
    doc = post(client, "evaluate", {"scenario": sc})
    blk = next(b for b in doc["blocks"] if not b["boot"])
    assert blk["memmap_on_memory"]["used"] is False and blk["memmap"]["where"] == "buddy"
    assert "pageblock" in blk["memmap_on_memory"]["reason"]


def test_window_counts_add_up_and_match_resolve(client):
    start, end, bins = 0x100000, 0x108000, 64
    w = post(client, "window", {"scenario": TV1, "start_pfn": hex(start), "end_pfn": end, "bins": bins})
    assert (w["start_pfn"], w["end_pfn"], w["bins"]) == ("0x100000", "0x108000", 64)
    assert all(len(v) == bins for v in w["counts"].values())
    assert [sum(col[i] for col in w["counts"].values()) for i in range(bins)] == [512] * bins
    # bin 0 is exactly the self-hosted memmap (TV-1: 512 pages), bin 1 the refused 2M page
    assert w["counts"]["memmap_self"][0] == 512 and w["roles"][w["dominant"][0]] == "memmap_self"
    assert w["counts"]["hugetlb_head"][1] == 1 and w["counts"]["hugetlb_tail"][1] == 511
    pages = post(client, "resolve", {"scenario": TV1, "pfns": list(range(start, start + 1024))})["pages"]
    assert sum(p["role"] == "memmap_self" for p in pages) == w["counts"]["memmap_self"][0]


def test_window_bins_clamped_to_pages(client):
    w = post(client, "window", {"scenario": TV1, "start_pfn": 0x100000, "end_pfn": 0x100003, "bins": 1000})
    assert w["bins"] == 3 and w["counts"] == {"memmap_self": [1, 1, 1]}


def test_a_refusal_is_an_outcome_not_an_error(client):
    sc = {**TV1, "ops": TV1["ops"] + [{"op": "remove_memory", "start": "0x100000000", "size": "128M"}]}
    doc = post(client, "evaluate", {"scenario": sc})
    ev = doc["events"][-1]
    assert ev["op"] == "remove_memory" and ev["outcome"] == "refused"
    assert "online" in ev["message"]


def test_hugepage_paging(client):
    sc = {"ops": [{"op": "alloc_hugepages", "size": "2M", "count": 10, "node": 0}]}
    doc = post(client, "evaluate", {"scenario": sc, "hugepages_offset": 3, "hugepages_limit": 4})
    assert doc["hugepages_total"] == 10 and len(doc["hugepages"]) == 4
    full = post(client, "evaluate", {"scenario": sc, "hugepages_limit": 100})["hugepages"]
    assert doc["hugepages"] == full[3:7]
    assert [int(h["head_pfn"], 16) for h in full] == sorted(int(h["head_pfn"], 16) for h in full)


def test_vmemmap_pages_are_paged_and_the_figure_still_draws_them_all(client):
    """A 1 GiB huge page has 4,096 vmemmap pages (0.9 MB of JSON): `limit` and `offset` list a page of them,
    `pages_total` counts them; without `limit` the answer lists every page, as it always did."""
    doc = {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
           "ops": [{"op": "alloc_hugepages", "size": "1G", "count": 1}]}
    head = post(client, "evaluate", {"scenario": doc})["hugepages"][0]["head_pfn"]
    every = post(client, "vmemmap", {"scenario": doc, "head_pfn": head, "figure": True})
    assert len(every["pages"]) == every["pages_total"] == 4096 and every["offset"] == 0
    some = post(client, "vmemmap", {"scenario": doc, "head_pfn": head, "figure": True, "limit": 256})
    assert some["pages"] == every["pages"][:256] and some["pages_total"] == 4096
    assert some["figure"] == every["figure"] and some["target"] == every["target"]
    tail = post(client, "vmemmap", {"scenario": doc, "head_pfn": head, "offset": 4000, "limit": 256})
    assert tail["pages"] == every["pages"][4000:] and tail["offset"] == 4000 and tail["figure"] is None
    assert post(client, "vmemmap", {"scenario": doc, "head_pfn": head, "offset": 5000})["pages"] == []
    post(client, "vmemmap", {"scenario": doc, "head_pfn": head, "limit": 0}, status=422)
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"offset", "limit"} <= set(schema["VmemmapRequest"]["properties"])
    assert {"pages_total", "offset"} <= set(schema["VmemmapResponse"]["required"])
