"""Dashboard speed in Debian's Chromium, from the page's own Performance API marks and Chromium's
network log (DevTools protocol), against a uvicorn on 127.0.0.1.

Prints, each beside the target of issue 14:
  first complete render of the default scenario (navigation start to the map drawn with data), cold cache;
  bytes on the wire for that first load (every response, headers included, until the network is idle);
  the same for a second visit (warm cache: versioned assets are not asked for again);
  walkthrough step to step (a click on "Next", dispatched in the page, to every view of the next step
    drawn: map, vmemmap diagram, tables). The click comes as soon as the step is ready, so what the page
    asks ahead for the next step (static/js/queries.js) may still be on its way: the worst case of a reader;
  redraw after an edit (allocate a huge page to the redrawn map), and after a zoom.
Asserts nothing. Usage: python bench/bench_browser.py [--runs 10]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import start_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
LAST_RENDER = ("performance.timeOrigin + performance.getEntriesByType('mark')"
               ".filter((m) => m.name.startsWith('vmemscope:render-')).pop().startTime")


def timed(page, js_action: str) -> float:
    """Run an action in the page; ms from just before it to the map's next render mark."""
    n = page.evaluate("window.vmemscope.renders")
    t0 = page.evaluate(f"() => {{ const t = performance.now(); {js_action}; return t; }}")
    page.wait_for_selector(f"body[data-renders]:not([data-renders='{n}'])", timeout=30_000)
    return page.evaluate(f"performance.getEntriesByName('vmemscope:render-{n + 1}')[0].startTime") - t0


def load(ctx, url: str) -> tuple[object, float, int]:
    """Open url in a new page: (page, ms to the first render, bytes received until the network is idle)."""
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    got = [0]
    cdp.on("Network.loadingFinished", lambda e: got.__setitem__(0, got[0] + e["encodedDataLength"]))
    page.goto(url)
    page.wait_for_selector("body[data-renders]", timeout=30_000)
    first = page.evaluate("performance.getEntriesByName('vmemscope:first-render')[0].startTime")
    page.wait_for_load_state("networkidle")
    return page, first, got[0]


def steps(page, base: str, slug: str) -> list[float]:
    """ms from a click on Next to the next step's map, through every step of a walkthrough."""
    page.goto(f"{base}/walkthroughs/{slug}/1")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    out = []
    k = 1
    while page.locator("#wt-next").count():
        # clicked in the page, as the edit and zoom figures are: Playwright's own click first waits for
        # the button to be stable over animation frames (~35 ms that no user waits)
        t0 = page.evaluate("() => { const t = performance.timeOrigin + performance.now();"
                           " document.querySelector('#wt-next').click(); return t; }")
        k += 1
        page.wait_for_url(f"**/walkthroughs/{slug}/{k}")
        page.wait_for_selector(f"#wt-count:has-text('Step {k} of')", timeout=30_000)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        out.append(page.evaluate(LAST_RENDER) - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        proc, port = start_server(d)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                firsts, sizes, warm = [], [], []
                for _ in range(3):
                    ctx = b.new_context(viewport={"width": 1280, "height": 720})
                    page, first, size = load(ctx, base + "/")
                    firsts.append(first)
                    sizes.append(size)
                    warm.append(load(ctx, base + "/")[2])
                    ctx.close()
                ctx = b.new_context(viewport={"width": 1280, "height": 720})
                page, _, _ = load(ctx, base + "/")
                walk = steps(page, base, "memmap-on-memory") + steps(page, base, "hvo")
                page.goto(base + "/")
                page.wait_for_selector("body[data-ready=true]", timeout=30_000)
                zooms = [timed(page, f"document.querySelector('[data-zoom={'in' if i % 2 == 0 else 'out'}]').click()")
                         for i in range(a.runs)]
                ops = [timed(page, "document.querySelector('#huge-count').value = '1';"
                                   "document.querySelector('#alloc-huge').click()") for _ in range(a.runs)]
                b.close()
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"first complete render: median {statistics.median(firsts):.0f} ms (target < 1000; "
          f"{len(firsts)} cold loads: {', '.join(f'{x:.0f}' for x in firsts)})")
    print(f"bytes on the wire, first load: {max(sizes) / 1e6:.2f} MB (target < 1.6), "
          f"second visit: {max(warm) / 1e6:.2f} MB")
    print(f"walkthrough step to step: median {statistics.median(walk):.0f} ms, max {max(walk):.0f} ms "
          f"(target < 150; {len(walk)} steps: {', '.join(f'{x:.0f}' for x in walk)})")
    print(f"redraw after an edit (allocate a huge page): median {statistics.median(ops):.0f} ms, "
          f"max {max(ops):.0f} ms (target < 150; {len(ops)} edits)")
    print(f"redraw after a zoom: median {statistics.median(zooms):.0f} ms, max {max(zooms):.0f} ms ({len(zooms)} zooms)")


if __name__ == "__main__":
    main()
