"""The dashboard shows the memory sections (crash's kmem -n) and, for a followed pfn, what
/proc/kpageflags would say, both as the REST API answers them for the same state."""
from __future__ import annotations

import httpx
from playwright.sync_api import expect

from test_dashboard import WITH_BLOCK


def test_sections_table_and_kpageflags_agree_with_the_api(dash):
    p = dash.page
    dash.open(WITH_BLOCK)
    sid = dash.save(WITH_BLOCK)
    expect(p.locator("#sections")).to_have_attribute("data-state", p.evaluate("document.body.dataset.state"))
    api = httpx.post(dash.base + "/api/v1/sections", json={"scenario_id": sid, "start_pfn": "0x100000",
                                                             "limit": 64}, timeout=30).json()
    rows = p.locator("#sections tr:has(td)")
    first = api["sections"][0]
    assert first["section"] == 32 and first["flags"] == ["SECTION_MARKED_PRESENT", "SECTION_HAS_MEM_MAP",
                                                         "SECTION_IS_ONLINE"]
    expect(rows.first).to_contain_text(f"{first['start_pfn']}-{first['end_pfn']}")
    expect(rows.first).to_contain_text(first["mem_map"])
    expect(rows.first).to_contain_text("MARKED_PRESENT HAS_MEM_MAP IS_ONLINE")
    p.fill("#follow-pfn", "0x100000")
    p.click("#follow")
    (page,) = httpx.post(dash.base + "/api/v1/resolve", json={"scenario_id": sid, "pfns": ["0x100000"]},
                         timeout=30).json()["pages"]
    expect(p.locator("#kpageflags")).to_have_text(
        f"/proc/kpageflags of pfn 0x100000: {page['kpageflags']} ({' '.join(page['kpageflags_names'])})")
    assert page["kpageflags_names"] == ["RESERVED", "OWNER_PRIVATE"]          # 6.8: PG_reserved as well
    dash.assert_clean()


def test_the_chain_says_why_a_boot_fixed_point_is_harmless(dash):
    from test_dashboard import BOOT
    p = dash.page
    dash.open(BOOT)
    sid = dash.save(BOOT)
    ev = httpx.post(dash.base + "/api/v1/evaluate", json={"scenario_id": sid}, timeout=30).json()
    (boot,) = [f for f in ev["fixed_points"] if f["memmap"] == "boot"]
    p.fill("#follow-pfn", boot["pfn"])
    p.click("#follow")
    expect(p.locator("#chain")).to_contain_text(f"the struct page of pfn {boot['pfn']} lives in pfn {boot['pfn']}")
    expect(p.locator("#fixed-point-why")).to_have_text(f"Why it matters: {ev['fixed_point_notes']['boot']}.")
    dash.assert_clean()

