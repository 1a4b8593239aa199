"""One scenario state, every view derived from it: after each control, undo and redo, every panel shows
what the REST API answers for the scenario document the page holds (asked here over real HTTP)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
from playwright.sync_api import expect

VIEWS = ["#summary", "#blocks", "#hugepages", "#events", "#map", "#marks", "#vmemmap-card", "#chain"]


def state(dash) -> dict:
    return dash.page.evaluate("({doc: window.vmemscope.state.history.doc, step: window.vmemscope.state.step, "
                              "sel: window.vmemscope.state.sel})")


def assert_views_agree(dash) -> None:
    """Every view was drawn from the current state, and says what the API says about it."""
    p, s = dash.page, state(dash)
    key = p.locator("body").get_attribute("data-state")
    assert key, "the page stamps the state it shows"
    for v in VIEWS:
        assert p.locator(v).get_attribute("data-state") == key, f"{v} shows another state than {key}"
    doc = s["doc"] if s["step"] is None else {**s["doc"], "ops": s["doc"]["ops"][: s["step"]]}
    api = lambda path, body: httpx.post(dash.base + "/api/v1/" + path, json=body, timeout=30).json()  # noqa: E731
    saved = httpx.post(dash.base + "/api/v1/scenarios", json=s["doc"], timeout=30).json()["id"]
    assert key.endswith(f"@{len(s['doc']['ops']) if s['step'] is None else s['step']}")
    # the state's save, once it answers, names the document the API saves under that id
    assert p.evaluate("window.vmemscope.state.saving.then(() => window.vmemscope.state.id)") == saved
    ev = api("evaluate", {"scenario": doc, "hugepages_limit": 500})
    t = ev["totals"]
    expect(p.locator("#summary")).to_contain_text(f"{t['kernel']} on {t['arch']} ({t['page_size']} pages)")
    expect(p.locator("#summary")).to_contain_text(f"Self-hosted pages{t['self_hosted_pages']}")
    assert f"{t['kernel']} on {t['arch']}" in p.title()
    got = {r.get_attribute("data-head"): r.locator("td").nth(3).inner_text()
           for r in p.locator("#hugepages tr[data-head]").all()}
    assert got == {h["head_pfn"]: h["hvo"] for h in ev["hugepages"]}
    blocks = {str(b["id"]) for b in ev["blocks"] if not b["boot"]}
    assert {r.get_attribute("data-block") for r in p.locator("#blocks tr[data-block]").all()} == blocks
    expect(p.locator("#events li")).to_have_count(len(ev["events"]))
    marks = sorted(b["self_mapping_pfn"] for b in ev["blocks"] if b["self_mapping_pfn"])
    w = dash.window()
    inside = [m for m in marks if int(w["start_pfn"], 16) <= int(m, 16) < int(w["end_pfn"], 16)]
    hot = [t for t in p.locator("#marks .mark").all_inner_texts() if not t.endswith("(boot memmap)")]
    assert sorted(hot) == \
        sorted(f"struct page of pfn {m} lives in pfn {m}" for m in inside)
    q = parse_qs(urlparse(p.url).query)
    if "s" in q:                                  # off a walkthrough's script the URL is the permalink
        assert q["s"] == [saved]
    sel = s["sel"]
    if sel and sel.startswith("hp:") and any(h["head_pfn"] == sel[3:] for h in ev["hugepages"]):
        vm = api("vmemmap", {"scenario": doc, "head_pfn": sel[3:]})
        expect(p.locator("#vmemmap-reason")).to_have_text(f"HVO {vm['target']['hvo']}: {vm['target']['reason']}")
    elif sel and sel.startswith("block:") and sel[6:] in blocks:
        vm = api("vmemmap", {"scenario": doc, "block": int(sel[6:])})
        expect(p.locator("#vmemmap-reason")).to_have_text(f"memmap: {vm['target']['memmap_where']}")


def apply_machine(dash, **controls) -> None:
    p = dash.page
    for sel, value in controls.items():
        p.select_option(f"#{sel}", value)
    dash.after(lambda: p.click("#machine-form button[type=submit]"))


def test_the_vmemmap_panel_follows_the_policy(dash):
    """Issue 14 §1: selfhosted-check-2022 step 5, policy none: table and panel both say optimised, HAZARD."""
    p = dash.page
    dash.open("/walkthroughs/selfhosted-check-2022/5")
    expect(p.locator("#vmemmap-reason")).to_contain_text("HVO refused")
    assert_views_agree(dash)
    p.click("#wt-try")
    apply_machine(dash, policy="none")
    row = p.locator("#hugepages tr[data-head='0x118200']")
    expect(row.locator("td").nth(3)).to_have_text("optimized")
    expect(row).to_contain_text("HAZARD")
    expect(p.locator("#vmemmap-reason")).to_contain_text("HVO optimized")
    expect(p.locator("#vmemmap-reason")).to_contain_text("HAZARD")
    assert_views_agree(dash)
    dash.after(lambda: p.click("#undo"))
    expect(p.locator("#vmemmap-reason")).to_contain_text("HVO refused")
    assert_views_agree(dash)
    dash.after(lambda: p.click("#redo"))
    expect(p.locator("#vmemmap-reason")).to_contain_text("HVO optimized")
    assert_views_agree(dash)


def test_every_control_rederives_every_view(dash):
    p = dash.page
    dash.open("/walkthroughs/memmap-on-memory/3")                 # the vmemmap of huge page 0x100200
    p.click("#wt-try")
    p.locator("#blocks tr[data-block='32']").get_by_role("button", name="vmemmap").click()
    expect(p.locator("#vmemmap-title")).to_contain_text("memory32")
    x, y = dash.x_of(0x100000)
    p.mouse.click(x + 1, y)                                          # follow a chain too
    expect(p.locator("#chain")).to_contain_text("fixed point")
    assert_views_agree(dash)
    apply_machine(dash, kernel="5.13")                               # no memmap_on_memory with HVO then
    assert_views_agree(dash)
    apply_machine(dash, kernel="6.8", policy="none")
    assert_views_agree(dash)
    dash.after(lambda: p.click("#add-memory"))                       # blocks
    assert_views_agree(dash)
    dash.after(lambda: p.locator("#blocks tr[data-block='33']").get_by_role("button", name="offline").click())
    assert_views_agree(dash)
    for _ in range(3):
        dash.after(lambda: p.click("#undo"))
        assert_views_agree(dash)
    dash.after(lambda: p.click("#redo"))
    assert_views_agree(dash)
    apply_machine(dash, **{"machine-preset": "arm64-4K"})            # another architecture: a new machine
    expect(p.locator("#summary")).to_contain_text("arm64")
    assert_views_agree(dash)
    dash.after(lambda: p.click("#undo"))
    assert_views_agree(dash)
