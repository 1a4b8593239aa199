"""The vmemmap panel draws the server's box-and-arrow figure as plain SVG (static/js/diagram.js), while
exports draw it with Plotly (app/export.py). Both are laid out by Chromium here from the same figure and
compared item by item: every box, arrow and text in the same place, with the same words."""
from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

BOOT = [{"start": "0x0", "size": "4G", "node": 0}]
# 7.3: two 2 MiB pages whose tails share the zone's tail page; 6.8: a self-hosted block, its loop drawn
HVO_73 = {"name": "hvo 7.3", "kernel": "7.3", "boot_memory": BOOT, "ops": [
    {"op": "alloc_hugepages", "size": "2M", "count": 2}]}
SELF_HOSTED = {"name": "self-hosted", "kernel": "6.8", "boot_memory": BOOT, "ops": [
    {"op": "add_memory", "start": "0x100000000", "size": "128M", "node": 0, "memmap_on_memory": True}]}

DRAW_BOTH = """async ([src, fig]) => {
  const { diagramSvg } = await import(src);
  const box = (n) => { const r = n.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
  const host = (id) => { const d = document.createElement('div'); d.id = id;
    d.style.cssText = 'position:absolute;left:0;top:0;width:' + fig.layout.width + 'px'; document.body.append(d); return d; };
  const ours = host('probe-svg'), theirs = host('probe-plotly');
  ours.append(diagramSvg(structuredClone(fig)));
  await Plotly.newPlot(theirs, [], structuredClone(fig.layout), { staticPlot: true });
  const texts = fig.layout.annotations.map((a, i) => ({ name: a.name,
    ours: box(ours.querySelector(`text[data-index="${i}"]`)),
    theirs: box(theirs.querySelector(`.annotation[data-index="${i}"] .annotation-text`)),
    words: ours.querySelector(`text[data-index="${i}"]`).textContent,
    plotly_words: theirs.querySelector(`.annotation[data-index="${i}"] .annotation-text`).textContent }));
  const shapes = fig.layout.shapes.map((s, i) => ({ name: s.name,
    ours: box(ours.querySelector(`[data-index="${i}"]:not(text)`)),
    theirs: box(theirs.querySelector(`.shapelayer path[data-index="${i}"]`)) }));
  return { texts, shapes };
}"""


def figure(base: str, scenario: dict, target: dict) -> dict:
    req = urllib.request.Request(base + "/api/v1/vmemmap", json.dumps({"scenario": scenario, **target, "figure": True}).encode(),
                                 {"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read())["figure"]


def near(a: list[float], b: list[float], px: float) -> bool:
    return all(abs(x - y) <= px for x, y in zip(a, b))


@pytest.mark.parametrize("scenario,target", [(HVO_73, {"head_pfn": "first"}), (SELF_HOSTED, {"block": 32})],
                         ids=["hvo-7.3-shared-tail", "memmap-self-hosted"])
def test_the_panel_draws_what_plotly_draws_from_the_same_figure(dash, scenario, target):
    p = dash.page
    dash.open(scenario)
    if target.get("head_pfn") == "first":
        target = {"head_pfn": p.evaluate("window.vmemscope.state.ev.hugepages[0].head_pfn")}
    fig = figure(dash.base, scenario, target)
    src = p.evaluate("document.querySelector('link[href*=\"diagram\"]').href")
    got = p.evaluate(DRAW_BOTH, [src, fig])
    assert len(got["texts"]) == len(fig["layout"]["annotations"]) > 10
    assert len(got["shapes"]) == len(fig["layout"]["shapes"]) > 5
    for t in got["texts"]:
        assert t["words"] == t["plotly_words"], t
        # the same place: centres within 4 px; widths within 8 % (a line of text is ~ 100-300 px) and
        # heights within 3 px (the line spacing of two- and three-line labels)
        (ox, oy, ow, oh), (px, py, pw, ph) = t["ours"], t["theirs"]
        assert near([ox + ow / 2, oy + oh / 2], [px + pw / 2, py + ph / 2], 4), t
        assert abs(ow - pw) <= max(3, 0.08 * pw) and abs(oh - ph) <= 3, t
    for s in got["shapes"]:
        assert near(s["ours"], s["theirs"], 3), s                 # boxes and arrows: stroke included
    dash.assert_clean()


def test_annotation_markup_is_drawn_as_text_never_parsed(dash):
    """Plotly's subset (<b>, <br>, a coloured span, escaped entities) becomes tspans; anything else,
    such as an escaped tag, stays words."""
    p = dash.page
    dash.open(SELF_HOSTED)
    src = p.evaluate("document.querySelector('link[href*=\"diagram\"]').href")
    runs = p.evaluate("""async (src) => (await import(src)).textRuns(
        "<b>pfn 0x1</b> &lt;img src=x onerror=alert(1)&gt;<br><span style='color:#a8307b'>\u2192 RO</span>: kept")""", src)
    assert runs == [[{"text": "pfn 0x1", "bold": True, "color": None},
                     {"text": " <img src=x onerror=alert(1)>", "bold": False, "color": None}],
                    [{"text": "\u2192 RO", "bold": False, "color": "#a8307b"},
                     {"text": ": kept", "bold": False, "color": None}]]
    dash.assert_clean()


def test_actual_size_makes_the_diagram_readable_and_scrollable_by_keyboard(dash):
    """At 1024x768 the diagram is shrunk to its card; "Actual size" (pressed by keyboard) draws it at its
    own width, text at the figure's sizes, in a card that scrolls sideways and takes the focus."""
    p = dash.page
    p.set_viewport_size({"width": 1024, "height": 768})
    dash.open("/walkthroughs/hvo/2")
    svg = p.locator("#vmemmap-plot svg.diagram")
    natural = float(svg.get_attribute("width"))
    shrunk = svg.bounding_box()["width"]
    assert shrunk < natural * 0.8, (shrunk, natural)
    p.focus("#vmemmap-size")
    p.keyboard.press("Enter")
    expect(p.locator("#vmemmap-size")).to_have_attribute("aria-pressed", "true")
    assert abs(svg.bounding_box()["width"] - natural) < 1
    plot = p.locator("#vmemmap-plot")
    assert plot.evaluate("(d) => d.scrollWidth > d.clientWidth && d.tabIndex === 0")
    p.keyboard.press("Tab")                                          # the scrolling card is the next stop
    assert p.evaluate("document.activeElement.id") == "vmemmap-plot"
    title = p.locator("#vmemmap-plot svg.diagram text[data-name=title]")
    assert abs(title.bounding_box()["height"] - 17 * 1.3) < 4          # the title at its 17 px
    p.keyboard.press("Shift+Tab")
    p.keyboard.press("Enter")                                         # pressed again: shrunk to the card
    expect(p.locator("#vmemmap-size")).to_have_attribute("aria-pressed", "false")
    assert svg.bounding_box()["width"] < natural * 0.8
    dash.assert_clean()
