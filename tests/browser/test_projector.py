"""Readable on a projector (issue 14 §5): fixed-point callouts never overlap or leave the plot, presenter
mode fills the card with text scaled like the ticks, and 1-pfn bands stay visible at any zoom. Geometry is
read from the DOM Chromium laid out."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

BOOT = [{"start": "0x0", "size": "4G", "node": 0}]


def blocks(n: int) -> list[dict]:
    ops = []
    for k in range(n):
        start = hex(0x100000000 + k * 0x8000000)
        ops += [{"op": "add_memory", "start": start, "size": "128M", "node": 0, "memmap_on_memory": True},
                {"op": "online", "start": start, "size": "128M", "zone": "movable"}]
    return ops


FOUR = {"name": "four self-hosted blocks", "kernel": "6.8", "boot_memory": BOOT, "ops": blocks(4)}


def callout_boxes(page) -> list[dict]:
    return page.evaluate("""() => { const gd = document.getElementById('map');
        return gd.layout.annotations.map((a, i) => [a, i]).filter(([a]) => a.name === 'self-mapping')
          .map(([, i]) => { const r = gd.querySelector(`.annotation[data-index="${i}"] .bg`).getBoundingClientRect();
                            return {l: r.left, r: r.right, t: r.top, b: r.bottom}; }); }""")


def assert_no_overlap_inside_map(page, n: int) -> None:
    boxes = callout_boxes(page)
    assert len(boxes) == n
    m = page.locator("#map").bounding_box()
    for k, a in enumerate(boxes):
        assert m["x"] <= a["l"] and a["r"] <= m["x"] + m["width"], ("cut off", a, m)
        assert m["y"] <= a["t"] and a["b"] <= m["y"] + m["height"], ("cut off", a, m)
        for b in boxes[k + 1:]:
            assert a["r"] <= b["l"] or b["r"] <= a["l"] or a["b"] <= b["t"] or b["b"] <= a["t"], (a, b)


@pytest.mark.parametrize("size", [(1024, 768), (1280, 720), (1400, 900)])
def test_fixed_point_callouts_never_overlap(dash, size):
    dash.page.set_viewport_size({"width": size[0], "height": size[1]})
    dash.open(FOUR)
    assert_no_overlap_inside_map(dash.page, 4)
    dash.after(lambda: dash.page.click("#add-memory"))            # a fifth, closer together
    assert_no_overlap_inside_map(dash.page, 5)


def test_presenter_mode_fills_the_card_and_scales_the_text(dash):
    p = dash.page
    p.set_viewport_size({"width": 1024, "height": 768})
    dash.open(FOUR)
    dash.after(lambda: p.click("#presenter"))
    assert_no_overlap_inside_map(p, 4)
    card = p.locator(".map-card").bounding_box()
    svg = p.locator("#map .main-svg").first.bounding_box()
    assert svg["width"] >= card["width"] - 30, (svg, card)             # the plot fills its card
    # text in the plot is as large as the tick labels
    tick = p.evaluate("parseFloat(getComputedStyle(document.querySelector('#map .xtick text')).fontSize)")
    sizes = p.evaluate("[...document.querySelectorAll('#map .annotation-text, #map .legendtext')]"
                       ".map((t) => parseFloat(getComputedStyle(t).fontSize))")
    assert tick >= 17 and sizes and min(sizes) >= tick - 2, (tick, sizes)
    # no empty column: the map card reaches the right edge of the page
    assert card["x"] + card["width"] >= 1024 - 40
    # no control label is clipped
    clipped = p.evaluate("""() => [...document.querySelectorAll('.controls label, .controls select, .controls input')]
        .filter((e) => e.offsetParent && (e.scrollWidth > e.clientWidth + 1 ||
                e.getBoundingClientRect().right > e.closest('.card').getBoundingClientRect().right + 1))
        .map((e) => e.id || e.textContent.trim().slice(0, 30))""")
    assert clipped == []


def emphasis_widths(page, role: str) -> list[float]:
    return page.evaluate("""(role) => { const gd = document.getElementById('map');
        return gd.layout.shapes.map((s, i) => [s, i]).filter(([s]) => s.name === 'emphasis:' + role)
          .map(([, i]) => gd.querySelector(`.shapelayer path[data-index="${i}"]`).getBoundingClientRect().width); }""",
                         role)


def test_one_pfn_bands_are_visible_at_any_zoom(dash):
    p = dash.page
    dash.open({**FOUR, "params": {"selfhosted_check": "none"},
               "ops": blocks(1) + [{"op": "alloc_hugepage", "size": "2M", "at": "0x100200000"}]})
    for view in ("all", "hotplug"):
        dash.after(lambda: p.click(f"[data-zoom={view}]"))
        for role in ("hugetlb_head", "hvo_freed_selfhosted"):
            w = emphasis_widths(p, role)
            assert w and min(w) >= 3.5, (view, role, w)
    expect(p.locator("#summary")).to_contain_text("HAZARD")
