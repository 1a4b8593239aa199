"""The dashboard in Debian's Chromium, driven through its forms, buttons and the mouse on the map.

Expectations come from the reference (kernel-model.md §6): TV-1 (the block's first memmap pfn backs its
own struct page), TV-4 (2 MiB pages in a self-hosted block are refused), TV-5 (elsewhere optimised,
7 pages freed). Every test also checks that nothing left 127.0.0.1 and the console stayed clean
(fixture `dash`), and leaves a screenshot in test-output/screenshots.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

BOOT = {"name": "boot only", "kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
        "ops": []}
ADD = [{"op": "add_memory", "start": "0x100000000", "size": "128M", "node": 0, "memmap_on_memory": True},
       {"op": "online", "start": "0x100000000", "size": "128M", "zone": "movable"}]
WITH_BLOCK = {**BOOT, "name": "one self-hosted block", "ops": ADD}
MARK = "struct page of pfn 0x100000 lives in pfn 0x100000"


def test_hot_add_marks_the_page_that_describes_itself(dash):
    p = dash.page
    dash.open(BOOT)
    # boot memory only: the one fixed point is the boot memmap's last page (struct-page-basics step 3)
    expect(p.locator("#marks")).to_have_text("struct page of pfn 0xfffff lives in pfn 0xfffff (boot memmap)")
    # the form proposes the next free block-aligned address: right after 4 GiB of boot memory
    expect(p.locator("#add-start")).to_have_value("0x100000000")
    expect(p.locator("#add-size")).to_have_value("128M")
    expect(p.locator("#add-mmo")).to_be_checked()
    dash.after(lambda: p.click("#add-memory"))
    expect(p.locator("#marks")).to_have_text(MARK)
    expect(p.locator("#map .annotation-text", has_text=MARK)).to_be_visible()
    expect(p.locator("#blocks")).to_contain_text("self 0x100000 (512 pages")
    # zoom in twice with the mouse, to a few hundred pages: one bin per page
    dash.drag_zoom(0x100000, 0x100800)
    dash.drag_zoom(0x100000, 0x100000 + 300)
    w = dash.window()
    pages = int(w["end_pfn"], 16) - int(w["start_pfn"], 16)
    assert 16 <= pages <= 400 and w["bins"] == pages
    assert int(w["start_pfn"], 16) <= 0x100000
    # TV-1: the 512 memmap pages start exactly at 0x100000; below it is boot memory
    k = 0x100000 - int(w["start_pfn"], 16)
    assert w["counts"]["memmap_self"][k:k + 4] == [1, 1, 1, 1] and sum(w["counts"]["memmap_self"][:k]) == 0
    # hover on pfn 0x100000 itself
    x, y = dash.x_of(0x100000)
    p.mouse.move(x + 1, y)
    expect(p.locator("#details")).to_contain_text("pfn 0x100000")
    expect(p.locator("#details")).to_contain_text("struct page 0xffffea0004000000 -> pfn 0x100000 (pmd)")
    expect(p.locator("#details")).to_contain_text("maps to itself")
    expect(p.locator("#map .hoverlayer")).to_contain_text("maps to itself")
    # clicking the mark follows the chain to the fixed point (with the boot memmap's fixed point 0xfffff
    # beside it, both callouts are short: "pfn 0x100000 ↺")
    p.locator("#map .annotation-text", has_text=re.compile(r"pfn 0x100000\b")).click()
    expect(p.locator("#chain")).to_contain_text("fixed point: the struct page of pfn 0x100000 lives in pfn 0x100000")


def test_hugepages_refused_in_a_self_hosted_block_optimised_elsewhere(dash):
    p = dash.page
    dash.open(WITH_BLOCK)
    p.select_option("#huge-size", "2M")
    p.fill("#huge-count", "3")
    dash.after(lambda: p.click("#alloc-huge"))
    rows = p.locator("#hugepages tr[data-head]")
    expect(rows).to_have_count(3)
    for i in range(3):
        expect(rows.nth(i).locator("td").nth(3)).to_have_text("refused")
        expect(rows.nth(i)).to_contain_text("PageVmemmapSelfHosted")
    # a second block without memmap_on_memory: its memmap comes from the buddy allocator
    expect(p.locator("#add-start")).to_have_value("0x108000000")
    p.uncheck("#add-mmo")
    dash.after(lambda: p.click("#add-memory"))
    expect(p.locator("#blocks tr[data-block='33']")).to_contain_text("buddy")
    # place a 2 MiB page by clicking inside memory33 (pfn 0x108500 -> the 2 MiB-aligned 0x108400)
    p.check("#place-mode")
    x, y = dash.x_of(0x108500)
    p.mouse.move(x, y)                                       # Plotly clicks on what it hovers
    expect(p.locator("#map .hoverlayer")).to_contain_text("memory33")
    dash.after(lambda: p.mouse.click(x, y))
    row = p.locator("#hugepages tr[data-head='0x108400']")
    expect(row.locator("td").nth(3)).to_have_text("optimized")
    expect(row).to_contain_text("7 pages (28 KiB) freed")        # TV-5
    # its vmemmap: 8 pages, 7 tails remapped read-only to one frame
    row.get_by_role("button", name="vmemmap").click()
    expect(p.locator("#vmemmap-title")).to_contain_text("0x108400")
    expect(p.locator("#vmemmap-table tr", has_text="remapped_ro")).to_have_count(7)


def test_policy_none_shows_the_hazard(dash):
    p = dash.page
    dash.open({**WITH_BLOCK, "ops": ADD + [{"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}]})
    row = p.locator("#hugepages tr[data-head='0x100200']")
    expect(row.locator("td").nth(3)).to_have_text("refused")
    expect(p.locator("#hazard")).to_have_count(0)
    p.select_option("#policy", "none")
    dash.after(lambda: p.click("#machine-form button[type=submit]"))
    expect(row.locator("td").nth(3)).to_have_text("optimized")
    expect(row).to_contain_text("HAZARD")
    expect(p.locator("#hazard")).to_contain_text("memory32: HVO freed pfns 0x100008-0x10000f")
    assert "hvo_freed_selfhosted" in dash.window()["counts"]


def test_undo_and_redo_restore_the_pictures(dash):
    p = dash.page
    dash.open(WITH_BLOCK)
    before = (dash.window(), p.locator("#summary").inner_text(), p.locator("#hugepages").inner_text())
    p.fill("#huge-count", "8")
    dash.after(lambda: p.click("#alloc-huge"))
    after = (dash.window(), p.locator("#summary").inner_text(), p.locator("#hugepages").inner_text())
    assert after[0]["counts"] != before[0]["counts"] and "hugetlb_head" in after[0]["counts"]
    dash.after(lambda: p.click("#undo"))
    assert (dash.window(), p.locator("#summary").inner_text(), p.locator("#hugepages").inner_text()) == before
    dash.after(lambda: p.click("#redo"))
    assert (dash.window(), p.locator("#summary").inner_text(), p.locator("#hugepages").inner_text()) == after


def test_step_slider_replays_a_prefix_of_the_log(dash):
    p = dash.page
    dash.open({**WITH_BLOCK, "ops": ADD + [{"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}]})
    expect(p.locator("#step-out")).to_have_text("3 / 3")
    dash.after(lambda: (p.locator("#step").fill("1"), p.locator("#step").dispatch_event("change")))
    expect(p.locator("#step-out")).to_have_text("1 / 3")
    expect(p.locator("#events li")).to_have_count(1)
    expect(p.locator("#hugepages tr[data-head]")).to_have_count(0)
    expect(p.locator("#blocks tr[data-block='32']")).to_contain_text("offline")


def test_permalink_reproduces_the_view(dash, new_dashboard, shot_dir):
    p = dash.page
    dash.open({**WITH_BLOCK, "ops": ADD + [{"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}]})
    dash.after(lambda: p.click("[data-zoom=in]"))
    p.locator("#blocks tr[data-block='32']").get_by_role("button", name="vmemmap").click()
    expect(p.locator("#vmemmap-title")).to_contain_text("memory32")
    p.click("#permalink")
    url = p.locator("#permalink-text").input_value()
    assert url.startswith(dash.base + "/?s=")
    want = (dash.window(), p.locator("#summary").inner_text(), p.locator("#vmemmap-title").inner_text())
    other = new_dashboard()
    fresh = other.page
    other.open(url)
    expect(fresh.locator("#vmemmap-title")).to_contain_text("memory32")
    got = (other.window(), fresh.locator("#summary").inner_text(), fresh.locator("#vmemmap-title").inner_text())
    assert got == want
    other.shot(shot_dir, "test_permalink_fresh_page")
    other.assert_clean()


def test_api_error_appears_next_to_its_control(dash):
    p = dash.page
    dash.open(WITH_BLOCK)
    dash.expected_errors.append("status of 422")            # Chromium logs the refused request
    p.fill("#add-start", "0x100100000")                      # not block-aligned
    p.click("#add-memory")
    err = p.locator("[data-error-for=hotadd]")
    expect(err).to_contain_text("not aligned to the 128 MiB memory block size")
    expect(p.locator("[data-error-for=machine]")).to_be_empty()
    expect(p.locator("#undo")).to_be_enabled(enabled=False)  # nothing was committed


def test_import_lsmem_output_marks_observed_and_inferred(dash, tmp_path):
    from pathlib import Path
    p = dash.page
    dash.open(BOOT)
    sample = Path(__file__).resolve().parents[1] / "collect" / "samples" / "lsmem-output-all-gt-6.12-C.json"
    dash.after(lambda: p.set_input_files("#import", str(sample)))
    expect(p.locator("#import-facts")).to_be_visible()
    expect(p.locator("#import-facts h3").first).to_have_text("Observed")
    expect(p.locator("#import-facts")).to_contain_text("Inferred")
    expect(p.locator("#blocks tr[data-block='40']")).to_be_visible()


def test_every_plot_is_configured_with_no_remote_address(dash):
    """The vendored Plotly bundle carries remote defaults (a topojson CDN, chart-studio links); the
    dashboard's Plotly plot (the map) overrides each with a local address or none, the vmemmap diagram is
    plain SVG (no Plotly), and a session asks nothing offsite."""
    p = dash.page
    dash.open("/walkthroughs/hvo/3")                                     # the map and the vmemmap diagram
    p.wait_for_selector("#vmemmap-plot svg.diagram")
    ctx = p.eval_on_selector("#map", "(gd) => { const c = gd._context; return [c.topojsonURL, c.plotlyServerURL,"
                                     " c.showSendToCloud, c.showEditInChartStudio, c.showLink]; }")
    assert ctx[:3] == ["/static/vendor/", "", False] and not any(ctx[3:]), ctx   # (links absent: falsy)
    assert p.eval_on_selector("#vmemmap-plot", "(d) => d._context === undefined && !d.querySelector('.main-svg')")
    dash.assert_clean()
