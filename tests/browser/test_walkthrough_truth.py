"""Walkthrough text and engine agree (issue 14 §2): struct-page-basics step 3 says that the boot memmap's
last page describes itself, why that is harmless, and the map marks that fixed point like a hot-plugged
block's."""
from __future__ import annotations

import httpx
from playwright.sync_api import expect

BOOT_MARK = "struct page of pfn 0xfffff lives in pfn 0xfffff (boot memmap)"


def test_boot_fixed_point_is_told_and_marked(dash):
    p = dash.page
    dash.open("/walkthroughs/struct-page-basics/3")
    n = p.locator("#wt-narrative")
    expect(n).to_contain_text("whose struct page is in pfn 0xfffff itself")
    expect(n).to_contain_text("harmless")
    assert "never describes itself" not in n.inner_text()
    # the engine agrees, over HTTP: the chain from the boot memmap ends in 0xfffff
    doc = p.evaluate("window.vmemscope.state.history.doc")
    chain = httpx.post(dash.base + "/api/v1/chain", json={"scenario": doc, "pfn": "0xfc000"}, timeout=30).json()
    assert chain["fixed_point"] == "0xfffff"
    expect(p.locator("#marks .mark")).to_have_text([BOOT_MARK])
    ann = p.evaluate("document.getElementById('map').layout.annotations"
                     ".filter((a) => a.name === 'self-mapping').map((a) => [a.x, a.hovertext || a.text])")
    assert ann == [[0xfffff, BOOT_MARK]]
    p.click("#marks .mark")
    expect(p.locator("#chain")).to_contain_text("fixed point: the struct page of pfn 0xfffff lives in pfn 0xfffff")


def test_no_boot_mark_where_there_is_no_fixed_point(dash):
    p = dash.page
    dash.open({"name": "8 GiB", "kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "2G", "node": 0}],
               "ops": []})
    doc = p.evaluate("window.vmemscope.state.history.doc")
    first = next(b for b in httpx.post(dash.base + "/api/v1/evaluate", json={"scenario": doc}, timeout=30)
                 .json()["blocks"] if b["memmap"]["where"] == "memblock")["memmap"]["start_pfn"]
    fixed = httpx.post(dash.base + "/api/v1/chain", json={"scenario": doc, "pfn": first}, timeout=30).json()
    want = [f"struct page of pfn {fixed['fixed_point']} lives in pfn {fixed['fixed_point']} (boot memmap)"] \
        if fixed["fixed_point"] else []
    dash.after(lambda: p.click("[data-zoom=all]"))
    expect(p.locator("#marks .mark")).to_have_text(want)
