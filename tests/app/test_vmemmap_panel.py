"""The dashboard's vmemmap panel draws the same HVO diagram the export does (real server, Debian's
Chromium). Runs in a child process: bare Playwright must not share an event loop with pytest-playwright."""
from __future__ import annotations

import json
import subprocess
import sys

import engine
from app.figures import vmemmap_figure
from engine.presets import DEFAULT_SCENARIO

SCRIPT = """
import json
from app.screenshot import live_server, CHROMIUM, CHROMIUM_ARGS
from playwright.sync_api import sync_playwright
with live_server() as base, sync_playwright() as pw:
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    p = b.new_page(viewport={"width": 1400, "height": 1000})
    p.goto(base + "/")
    p.wait_for_selector("body[data-ready=true]", timeout=60000)
    p.locator("#hugepages tr[data-head='0x108200']").get_by_role("button", name="vmemmap").click()
    p.locator("#vmemmap-plot svg.diagram text", has_text="HVO of the 2 MiB huge page at pfn 0x108200").wait_for(
        state="attached", timeout=30000)
    shapes = p.evaluate("Array.from(document.querySelectorAll('#vmemmap-plot svg.diagram :is(rect, path)[data-index]'))"
                        ".sort((a, b) => a.dataset.index - b.dataset.index).map(s => s.dataset.name)")
    texts = p.evaluate("Array.from(document.querySelectorAll('#vmemmap-plot svg.diagram text')).map(t => t.textContent)")
    print(json.dumps({"shapes": shapes, "texts": texts}))
    b.close()
"""


def test_the_vmemmap_panel_shows_the_hvo_diagram():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    m = engine.evaluate(DEFAULT_SCENARIO)
    want = vmemmap_figure(m.vmemmap(head_pfn=0x108200), m)["layout"]["shapes"]
    assert got["shapes"] == [s["name"] for s in want]                 # every box and arrow of the server's diagram
    assert "HVO of the 2 MiB huge page at pfn 0x108200" in got["texts"]
    assert sum("freed" in t for t in got["texts"]) >= 8
