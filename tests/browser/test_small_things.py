"""Small things a trainer notices (issue 14 §10), each as the trainer would see it."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from test_dashboard import ADD, BOOT, WITH_BLOCK

SAMPLES = Path(__file__).resolve().parents[1] / "collect" / "samples"


def test_view_range_in_pfns_and_physical_addresses(dash):
    p = dash.page
    dash.open(WITH_BLOCK)
    expect(p.locator("#view-range")).to_contain_text("pfns 0x100000-0x107fff = physical addresses "
                                                     "0x100000000-0x107ffffff")
    p.fill("#view-input", "0x100200000-0x100400000")
    p.select_option("#view-unit", "addr")
    dash.after(lambda: p.click("#view-form button"))
    assert (dash.window()["start_pfn"], dash.window()["end_pfn"]) == ("0x100200", "0x100400")
    p.fill("#view-input", "0x100000-0x100100")
    p.select_option("#view-unit", "pfn")
    dash.after(lambda: p.click("#view-form button"))
    assert (dash.window()["start_pfn"], dash.window()["end_pfn"]) == ("0x100000", "0x100100")
    expect(p.locator("#view-range")).to_contain_text("256 bins of 1 page")


def test_the_lives_in_box_and_the_callout_follow_the_chain(dash):
    p = dash.page
    dash.open(WITH_BLOCK)
    p.click("#marks .mark")
    expect(p.locator("#chain")).to_contain_text("fixed point: the struct page of pfn 0x100000 lives in pfn 0x100000")
    p.evaluate("document.getElementById('chain').replaceChildren()")
    p.locator("#map .annotation-text", has_text="0x100000").click()
    expect(p.locator("#chain")).to_contain_text("fixed point")


def test_events_are_numbered_like_the_slider_and_counts_read_right(dash):
    p = dash.page
    buddy = [{**ADD[0], "memmap_on_memory": False}, ADD[1]]           # memmap from the buddy: HVO optimises
    dash.open({**WITH_BLOCK, "ops": buddy + [{"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}]})
    expect(p.locator("#step-out")).to_have_text("3 / 3")
    assert p.locator("#events").get_attribute("start") == "1"
    expect(p.locator("#events li")).to_have_count(3)
    text = p.locator("body").inner_text()
    assert not re.search(r"\b1 pages\b", text)
    expect(p.locator("#summary")).to_contain_text("Page tables for HVO1 page")


def test_title_follows_the_architecture(dash):
    p = dash.page
    dash.open(WITH_BLOCK)
    p.select_option("#machine-preset", "arm64-4K")
    dash.after(lambda: p.click("#machine-form button[type=submit]"))
    expect(p.locator("#scenario-name")).to_have_text("one self-hosted block (on arm64-4K)")
    assert "arm64" in p.title()
    p.select_option("#machine-preset", "x86_64-4K-L5")
    dash.after(lambda: p.click("#machine-form button[type=submit]"))
    expect(p.locator("#scenario-name")).to_have_text("one self-hosted block (on x86_64-4K-L5)")


def test_step_text_matches_the_controls(dash):
    p = dash.page
    dash.open("/walkthroughs/selfhosted-check-2022/5")
    n = p.locator("#wt-narrative")
    expect(n).to_contain_text("press Try it yourself, then pick another Self-hosted check under Machine and kernel")
    expect(p.locator("#policy")).to_be_disabled()
    p.click("#wt-try")
    expect(p.locator("#policy")).to_be_enabled()


def test_lsmem_import_summary_is_short(dash):
    p = dash.page
    dash.open(BOOT)
    dash.after(lambda: p.set_input_files("#import", str(SAMPLES / "lsmem-all-host.json")))
    facts = p.locator("#import-facts")
    expect(facts).to_contain_text("192 memory blocks memory0..memory23, memory32..memory199 on node 0 (no node link)")
    expect(facts).to_contain_text("kernel release not recorded")
    assert "None" not in facts.inner_text()
    assert p.locator("#import-facts li").count() < 15


def test_blocks_table_speaks_lsmem(dash):
    p = dash.page
    dash.open("/walkthroughs/selfhosted-check-2022/5")
    heads = p.locator("#blocks th").all_inner_texts()
    assert heads[:7] == ["RANGE", "SIZE", "STATE", "REMOVABLE", "BLOCK", "NODE", "ZONES"]
    for k in range(8):
        cells = p.locator(f"#blocks tr[data-block='{32 + k}'] td").all_inner_texts()
        start = (32 + k) * 128 << 20
        assert cells[:7] == [f"0x{start:016x}-0x{start + (128 << 20) - 1:016x}", "128M", "online", "yes",
                             str(32 + k), "0", "Movable"]
        assert cells[7].startswith(f"self {hex(0x100000 + k * 0x200)} ")
