"""Dashboard speed in Debian's Chromium, from the page's own Performance API marks.

Prints the time to the first complete render of the default scenario (navigation start to the map
drawn with data), and the median time from a zoom click or an operation (allocate a huge page) to
the redrawn map. Asserts nothing. Usage: python bench/bench_browser.py [--runs 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import start_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def timed(page, js_action: str) -> float:
    """Run an action in the page; ms from just before it to the map's next render mark."""
    n = page.evaluate("window.vmemscope.renders")
    t0 = page.evaluate(f"() => {{ const t = performance.now(); {js_action}; return t; }}")
    page.wait_for_selector(f"body[data-renders]:not([data-renders='{n}'])", timeout=30_000)
    return page.evaluate(f"performance.getEntriesByName('vmemscope:render-{n + 1}')[0].startTime") - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        proc, port = start_server(d)
        try:
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                firsts = []
                for _ in range(3):
                    ctx = b.new_context(viewport={"width": 1280, "height": 720})
                    page = ctx.new_page()
                    page.goto(f"http://127.0.0.1:{port}/")
                    page.wait_for_selector("body[data-renders]", timeout=30_000)
                    firsts.append(page.evaluate("performance.getEntriesByName('vmemscope:first-render')[0].startTime"))
                    if len(firsts) < 3:
                        ctx.close()
                zooms = [timed(page, "document.querySelector(`[data-zoom=${i % 2 ? 'out' : 'in'}]`).click()"
                               .replace("${i % 2 ? 'out' : 'in'}", "in" if i % 2 == 0 else "out"))
                         for i in range(a.runs)]
                ops = [timed(page, "document.querySelector('#huge-count').value = '1';"
                                   "document.querySelector('#alloc-huge').click()") for _ in range(a.runs)]
                b.close()
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"first complete render of the default scenario: {statistics.median(firsts):.0f} ms "
          f"(median of {len(firsts)} cold page loads: {', '.join(f'{x:.0f}' for x in firsts)})")
    print(f"zoom -> redrawn map: median {statistics.median(zooms):.0f} ms, max {max(zooms):.0f} ms ({len(zooms)} zooms)")
    print(f"operation (allocate a huge page) -> redrawn map: median {statistics.median(ops):.0f} ms, "
          f"max {max(ops):.0f} ms ({len(ops)} operations)")


if __name__ == "__main__":
    main()
