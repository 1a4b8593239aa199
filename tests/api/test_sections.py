"""GET/POST /api/v1/sections: the memory sections of a machine, paged, over real HTTP, against the
engine's own geometry (section = 128 MiB on x86_64, its mem_map = pfn_to_page of its first pfn)."""
from __future__ import annotations

VMEMMAP = 0xffffea0000000000
PAGES_PER_SECTION = 0x8000


def test_sections_page_through_boot_and_hot_added_memory(client, default):
    r = client.post("/api/v1/sections", json={"scenario": default, "offset": 30, "limit": 4})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["total"] == 4 * 8 + 2            # 4 GiB of boot memory and memory32/33
    secs = doc["sections"]
    assert [s["section"] for s in secs] == [30, 31, 32, 33]
    for s in secs:
        start = int(s["start_pfn"], 16)
        assert start == s["section"] * PAGES_PER_SECTION and int(s["end_pfn"], 16) == start + PAGES_PER_SECTION
        assert int(s["mem_map"], 16) == VMEMMAP + start * 64
        assert s["block"] == s["section"]        # 128 MiB blocks: one section each
    boot, hot = secs[1], secs[2]
    assert "SECTION_IS_EARLY" in boot["flags"] and boot["flag_bits"] == "0xf"
    assert hot["flags"] == ["SECTION_MARKED_PRESENT", "SECTION_HAS_MEM_MAP", "SECTION_IS_ONLINE"]
    assert hot["flag_bits"] == "0x7"


def test_offline_sections_lose_is_online_and_the_v2_flag_shows_under_its_policy(client, default):
    default["params"]["selfhosted_check"] = "section_flag"
    default["ops"].append({"op": "offline", "start": "0x108000000", "size": "128M"})
    secs = client.post("/api/v1/sections", json={"scenario": default, "offset": 32}).json()["sections"]
    assert "SECTION_CANNOT_OPTIMIZE_VMEMMAP" in secs[0]["flags"]          # memory32: an altmap
    assert secs[1]["flags"][:2] == ["SECTION_MARKED_PRESENT", "SECTION_HAS_MEM_MAP"]
    assert "SECTION_IS_ONLINE" not in secs[1]["flags"]


def test_get_sections_of_a_saved_scenario_and_errors(client, default):
    sid = client.post("/api/v1/scenarios", json=default).json()["id"]
    r = client.get(f"/api/v1/sections?scenario_id={sid}&offset=0&limit=2")
    assert r.status_code == 200 and [s["section"] for s in r.json()["sections"]] == [0, 1]
    assert r.json()["scenario_id"] == sid
    assert client.get(f"/api/v1/sections?scenario_id={sid}&limit=0").status_code == 422
    assert client.get("/api/v1/sections?scenario_id=" + "0" * 24).status_code == 404


def test_resolve_reports_kpageflags(client, default):
    pages = client.post("/api/v1/resolve", json={"scenario": default,
                                                 "pfns": ["0x100000", "0x100200", "0x100201"]}).json()["pages"]
    assert [p["kpageflags_names"] for p in pages] == [["RESERVED", "OWNER_PRIVATE"], ["COMPOUND_HEAD", "HUGE"],
                                                      ["COMPOUND_TAIL", "HUGE"]]
    assert pages[0]["kpageflags"] == hex(1 << 32 | 1 << 37)     # 6.8: PG_reserved too (6.11 dropped it)


def test_evaluate_lists_the_fixed_points_of_the_listed_blocks(client, default):
    doc = client.post("/api/v1/evaluate", json={"scenario": default}).json()
    fps = {f["pfn"]: f for f in doc["fixed_points"]}
    assert fps["0x100000"]["memmap"] == "self_hosted" and fps["0x100000"]["block"] == 32
    boot = [f for f in doc["fixed_points"] if f["memmap"] == "boot"]
    assert len(boot) == 1 and boot[0]["node"] == 0
    # the boot one is where resolve says a struct page lives in itself
    (page,) = client.post("/api/v1/resolve", json={"scenario": default, "pfns": [boot[0]["pfn"]]}).json()["pages"]
    assert page["maps_to_itself"] and page["role"] == "memmap_boot"
    assert "harmless" in doc["fixed_point_notes"]["boot"]
    only = client.post("/api/v1/evaluate", json={"scenario": default, "blocks_offset": 32, "blocks_limit": 1}).json()
    assert [f["pfn"] for f in only["fixed_points"]] == ["0x100000"]
