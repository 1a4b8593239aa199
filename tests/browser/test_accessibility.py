"""Accessible to everyone in the room (issue 14 §11): axe-core finds no serious or critical violation,
every control is reached and operated by keyboard with a visible focus, every figure has a text
equivalent."""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect


def serious(page) -> list[tuple[str, list]]:
    r = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in r.response["violations"]
            if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("url,presenter", [("/", False), ("/walkthroughs/hvo/2", False),
                                           ("/walkthroughs/memmap-on-memory/3", True), ("/", True)])
def test_axe_finds_nothing_serious(dash, url, presenter):
    dash.open(url)
    if presenter:
        dash.after(lambda: dash.page.click("#presenter"))
    assert serious(dash.page) == []


def tab_to(page, target: str, limit: int = 80) -> None:
    """Press Tab until target has the focus, checking that every stop shows where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            return {id: e.id, tag: e.tagName, html: e.outerHTML.slice(0, 120), style: s.outlineStyle + " " + s.outlineWidth, outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2}; }""")
        assert stop["outline"], f"no visible focus on {stop}"
        if page.evaluate("(t) => document.activeElement.matches(t)", target):
            return
    raise AssertionError(f"{target} not reached by keyboard")


def test_every_control_works_from_the_keyboard(dash):
    p = dash.page
    dash.open("/")
    for target in ["#permalink", "#presenter", "#machine-preset", "#kernel", "#policy",
                   "#machine-form button[type=submit]", "#add-start", "#add-memory", "#huge-count",
                   "#alloc-huge", "#place-mode", "[data-zoom=in]", "[data-zoom=all]", "#follow-pfn"]:
        tab_to(p, target)
    # operate: follow a pfn's chain, zoom, allocate, undo; all from the keyboard
    p.keyboard.type("0x100000")
    p.keyboard.press("Enter")
    expect(p.locator("#chain")).to_contain_text("fixed point: the struct page of pfn 0x100000 lives in pfn 0x100000")
    p.focus("[data-zoom=in]")
    dash.after(lambda: p.keyboard.press("Enter"))
    p.focus("#alloc-huge")
    dash.after(lambda: p.keyboard.press("Enter"))
    expect(p.locator("#undo")).to_be_enabled()
    p.focus("#undo")
    dash.after(lambda: p.keyboard.press("Space"))
    # the tables and the event log scroll from the keyboard too
    for region in ["#events", ".table-wrap:has(#blocks)"]:
        assert p.locator(region).get_attribute("tabindex") == "0"


def test_every_figure_has_a_text_equivalent(dash):
    p = dash.page
    dash.open("/walkthroughs/memmap-on-memory/3")
    text = p.locator("#map-text")
    expect(text).to_contain_text("Physical memory map of pfns 0x100000 to")
    expect(text).to_contain_text("The struct page of pfn 0x100000 lives in pfn 0x100000.")
    w = dash.window()
    total = sum(sum(c) for c in w["counts"].values())
    assert total == int(w["end_pfn"], 16) - int(w["start_pfn"], 16)     # every page of the view is described
    for fig in ("#map", "#vmemmap-plot"):
        ids = p.locator(fig).get_attribute("aria-describedby").split()
        words = " ".join(p.locator(f"#{i}").inner_text() for i in ids)
        assert len(words) > 20, (fig, words)
    expect(p.locator("#vmemmap-reason")).to_contain_text("PageVmemmapSelfHosted")
