"""kernel-model.md section 5: the self-hosted checks of the 2022 seed thread, compared.

A = section_flag (v2), B = first_page_maps_to_itself, C = block_first_pfn_flag (v4),
D = merged (v5, 66361095129b); "none" is no check at all. Each row is a scenario with one
2 MiB HugeTLB page whose verdict the table gives.
"""
from __future__ import annotations

import pytest

POLICIES = ("section_flag", "first_page_maps_to_itself", "block_first_pfn_flag", "merged", "none")
DIMM = [{"op": "add_memory", "start": "0x100000000", "size": "1G"},
        {"op": "online", "start": "0x100000000", "size": "1G"}]

ROWS = {
    # 6.8+ per-block altmap, 2M page in block k (memory35)
    "per_block_altmap": dict(
        ops=DIMM + [{"op": "alloc_hugepage", "size": "2M", "at": "0x118200000"}],
        head="0x118200"),
    # boot block whose first pfn is an anonymous swap-cache page (PG_swapcache = PG_owner_priv_1)
    "boot_first_pfn_swapcache": dict(
        ops=[{"op": "swapcache_page", "pfn": "0x40000"},
             {"op": "alloc_hugepage", "size": "2M", "at": "0x40200000"}],
        head="0x40200"),
    # boot block (1 GiB blocks) whose first 128 MiB section is a hole
    "boot_first_section_hole": dict(
        ops=[{"op": "alloc_hugepage", "size": "2M", "at": "0x48200000"}],
        head="0x48200",
        machine={"memory_block_size": "1G"},
        boot_memory=[{"start": 0, "size": "1G"}, {"start": "0x48000000", "size": "0xb8000000"}]),
    # one altmap shared by the whole 1 GiB range (TV-18), 2M page in the 3rd+ 128 MiB chunk
    "shared_altmap_range": dict(
        ops=[dict(DIMM[0], altmap_scope="range"), DIMM[1],
             {"op": "alloc_hugepage", "size": "2M", "at": "0x118200000"}],
        head="0x118200"),
}

R, O = "refused", "optimized"
TABLE = {          # A, B, C, D, none              truth (= D)
    "per_block_altmap":         (R, R, R, R, O),   # refuse
    "boot_first_pfn_swapcache": (O, O, R, O, O),   # optimise; C is the v4 false positive
    "boot_first_section_hole":  (O, O, O, O, O),   # optimise; B/C need the pfn_valid guard
    "shared_altmap_range":      (R, O, O, R, O),   # refuse; B and C are wrong
}
TRUTH = {"per_block_altmap": R, "boot_first_pfn_swapcache": O, "boot_first_section_hole": O,
         "shared_altmap_range": R}
SELF_HOSTED_ROWS = {"per_block_altmap", "shared_altmap_range"}


def scenario(row: str, policy: str) -> dict:
    r = ROWS[row]
    s = {"kernel": "6.8", "params": {"selfhosted_check": policy}, "ops": r["ops"]}
    for k in ("machine", "boot_memory"):
        if k in r:
            s[k] = r[k]
    return s


def test_merged_column_is_the_truth():
    assert {row: TABLE[row][POLICIES.index("merged")] for row in TABLE} == TRUTH


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("row", list(TABLE))
def test_comparison_table(ev, row, policy):
    m = ev(scenario(row, policy))
    assert all(e["outcome"] == "ok" for e in m.events()), m.events()
    (p,) = m.hugepages()
    assert p["head_pfn"] == ROWS[row]["head"]
    expected = TABLE[row][POLICIES.index(policy)]
    assert p["hvo"] == expected, p["reason"]
    s = m.summary()
    if expected == R:
        assert p["freed_pages"] == 0 and s["hvo_freed_pages"] == 0
    else:
        assert p["freed_pages"] == 7
    # a wrong "optimise" frees frames of a self-hosted memmap: flagged as a hazard
    wrong = expected == O and row in SELF_HOSTED_ROWS
    assert (s["role_pages"]["hvo_freed_selfhosted"] > 0) is wrong
    assert ("HAZARD" in p["reason"]) is wrong
    assert any(b["hazards"] for b in m.blocks()) is wrong


@pytest.mark.parametrize("policy,word", [
    ("section_flag", "SECTION_CANNOT_OPTIMIZE_VMEMMAP"), ("first_page_maps_to_itself", "maps to itself"),
    ("block_first_pfn_flag", "PG_owner_priv_1"), ("merged", "PageVmemmapSelfHosted"),
])
def test_refusal_reasons_name_the_check(ev, policy, word):
    (p,) = ev(scenario("per_block_altmap", policy)).hugepages()
    assert p["hvo"] == R and word in p["reason"]


def test_v4_false_positive_is_explained(ev):
    (p,) = ev(scenario("boot_first_pfn_swapcache", "block_first_pfn_flag")).hugepages()
    assert "swapcache" in p["reason"].lower() and "false positive" in p["reason"]
    assert "0x40000" in p["reason"]


def test_swapcache_page_role(ev):
    m = ev(scenario("boot_first_pfn_swapcache", "merged"))
    assert m.resolve([0x40000])[0]["role"] == "swapcache"


def test_hole_first_section_has_no_memmap(ev):
    m = ev(scenario("boot_first_section_hole", "first_page_maps_to_itself"))
    r = m.resolve([0x40000])[0]
    assert r["state"] == "absent" and r["role"] == "hole" and r["backing_pfn"] is None
    assert r["block"] is not None and r["maps_to_itself"] is False
    assert m.summary()["memory_block_size"] == "1G"


# ------------------------------------------------------------------ policy "none" hazards
NONE_OPS = [{"op": "add_memory", "start": "0x200000000", "size": "128M"},
            {"op": "online", "start": "0x200000000", "size": "128M"},
            {"op": "alloc_hugepage", "size": "2M", "at": "0x200200000"},
            {"op": "offline", "start": "0x200000000", "size": "128M"},
            {"op": "remove_memory", "start": "0x200000000", "size": "128M"}]


def none_scenario(policy: str, nops: int) -> dict:
    # boot RAM up to 8 GiB, so the PTE table and head copy come from boot ZONE_NORMAL and the
    # hot-added block can still be offlined
    return {"kernel": "6.8", "params": {"selfhosted_check": policy},
            "boot_memory": [{"start": 0, "size": "8G"}], "ops": NONE_OPS[:nops]}


def test_none_on_self_hosted_block_is_a_hazard(ev):
    m = ev(none_scenario("none", 3))
    (p,) = m.hugepages()
    assert p["hvo"] == "optimized" and p["freed_pages"] == 7
    assert "HAZARD" in p["reason"] and "policy none" in p["reason"] and "0x200008" in p["reason"]
    b = next(b for b in m.blocks() if b["id"] == 64)
    assert len(b["hazards"]) == 1 and "0x200008-0x20000f" in b["hazards"][0]
    # 6.2+: all 8 original vmemmap frames are freed, and all 8 are self-hosted memmap
    assert m.summary()["role_pages"]["hvo_freed_selfhosted"] == 8
    roles = [r["role"] for r in m.resolve(range(0x200008, 0x200010))]
    assert roles == ["hvo_freed_selfhosted"] * 8


@pytest.mark.parametrize("policy,expected", [("none", ["ok", "ok", "ok", "hazard", "hazard"]),
                                             ("merged", ["ok", "ok", "ok", "ok", "ok"])])
def test_offline_and_remove_report_the_hazard(ev, policy, expected):
    m = ev(none_scenario(policy, 5))
    ev_ = m.events()
    assert [e["outcome"] for e in ev_] == expected
    for e in ev_[3:]:
        assert ("HAZARD" in e["message"]) is (policy == "none")
    assert "offline memory64" in ev_[3]["message"]
    assert "removed memory64" in ev_[4]["message"]
    assert all(b["id"] != 64 for b in m.blocks())
