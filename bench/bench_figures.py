"""Figure export speed in one process (issue 15): the first export (starts Chromium), then every figure
`make docs` draws, each built (engine -> figure dict) and exported (kaleido) in the same browser; every
walkthrough step; and the refusal of an HVO figure of a range with no huge page on a machine with
4,000,000 huge pages (issue 17). Prints figures; asserts nothing.

    .venv/bin/python bench/bench_figures.py
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from app import walkthroughs as W  # noqa: E402
from app.cli import _step_figure  # noqa: E402
from app.export import build_view, to_image  # noqa: E402

SC = ROOT / "docs" / "scenarios"
FIGURES = [  # (name, scenario, view, kwargs) as in the Makefile's docs target
    ("map", "default", "map", {"pfn_range": (0x100000, 0x110000)}),
    ("self-mapping", "default", "map", {"pfn_range": (0x100000, 0x100200)}),
    ("map-per-block", "dimm-1g-6.8", "map", {}),
    ("hvo-2m", "default", "hvo", {"hugepage": 0x108200}),
    ("hvo-refused", "default", "hvo", {"hugepage": 0x100200}),
    ("hvo-5.17", "hvo-5.17", "hvo", {}),
    ("hvo-6.1", "hvo-6.1", "hvo", {}),
    ("hvo-6.12", "hvo-6.12", "hvo", {}),
    ("memmap-self", "default", "memmap", {"block": 32}),
    ("memmap-per-block", "dimm-1g-6.8", "memmap", {"block": 32}),
]


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    machines = {n: engine.evaluate(json.loads((SC / f"{n}.json").read_text()))
                for n in {f[1] for f in FIGURES}}
    _, first = timed(lambda: to_image(build_view(machines["default"], "map"), "svg"))
    print(f"first export (starts Chromium):           {first:6.2f} s")
    print(f"{'figure':18} {'build':>8} {'svg':>8} {'png 2x':>8} {'pdf':>8} {'svg KiB':>8}")
    per = []
    for name, sc, view, kw in FIGURES:
        fig, tb = timed(lambda: build_view(machines[sc], view, **kw))
        svg, ts = timed(lambda: to_image(fig, "svg"))
        _, tp = timed(lambda: to_image(fig, "png"))
        _, td = timed(lambda: to_image(fig, "pdf"))
        per += [tb + ts, tb + tp, tb + td]
        print(f"{name:18} {tb * 1e3:6.1f}ms {ts:7.3f}s {tp:7.3f}s {td:7.3f}s {len(svg) / 1024:8.1f}")
    print(f"per figure after the first (build + export): median {statistics.median(per):.3f} s, "
          f"max {max(per):.3f} s over {len(per)} exports")
    steps, t0 = 0, time.perf_counter()
    for slug in W.slugs():
        wt = W.load(slug)
        for i in range(len(wt["steps"])):
            to_image(_step_figure(wt, i, engine.evaluate(W.step_scenario(wt, i))), "svg")
            steps += 1
    dt = time.perf_counter() - t0
    print(f"every walkthrough step as SVG:            {steps} steps in {dt:.2f} s ({dt / steps:.3f} s each, "
          "evaluate included)")
    two_million = {"op": "alloc_hugepages", "size": "2M", "count": 2_000_000}
    big, te = timed(lambda: engine.evaluate({"boot_memory": [{"start": "0x0", "size": "8T"}],
                                             "ops": [two_million, two_million]}))
    print(f"machine with {big.nr_hugepages:,} huge pages evaluated in {te:.1f} s")
    heads = big.hugepage_heads(0, big.max_pfn, 2)
    gap = (heads[0] + 1, heads[1])
    t = time.perf_counter()
    try:
        build_view(big, "hvo", pfn_range=gap)
        raise SystemExit("an empty range was drawn")
    except engine.ScenarioError as e:
        print(f"HVO figure of an empty range refused in   {(time.perf_counter() - t) * 1e3:.2f} ms ({e.msg})")
    _, th = timed(lambda: build_view(big, "hvo", head_pfn=heads[1]))
    print(f"HVO figure of one of them built in         {th * 1e3:.1f} ms")


def storm(n: int = 6) -> None:
    """n clients ask for the largest PNG allowed at once, through a real server on 127.0.0.1, while
    one asks for a tiny evaluate: how many exports run or get 503, and the evaluate's latency."""
    import threading
    import urllib.error
    import urllib.request
    from app.export import MAX_EXPORT_PIXELS
    from app.screenshot import live_server
    with live_server() as base:
        def post(path: str, doc: dict) -> dict:
            req = urllib.request.Request(base + path, data=json.dumps(doc).encode(), method="POST",
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.load(r)
        sid = post("/api/v1/scenarios", json.loads((SC / "default.json").read_text()))["id"]
        big = f"{base}/api/v1/scenarios/{sid}/figure.png?view=hvo&hugepage=0x108200&width=2000&height=2000&scale=2"
        codes: list[int] = []

        def export() -> None:
            try:
                with urllib.request.urlopen(big, timeout=120) as r:
                    r.read()
                    codes.append(r.status)
            except urllib.error.HTTPError as e:
                codes.append(e.code)
        threads = [threading.Thread(target=export) for _ in range(n)]
        for t in threads:
            t.start()
        tiny = {"scenario": {"boot_memory": [{"start": "0x0", "size": "1G"}]}}
        _, te = timed(lambda: post("/api/v1/evaluate", tiny))
        for t in threads:
            t.join()
    print(f"{n} concurrent {2000 * 2000 * 4 / 1e6:.0f} Mpx PNG exports (cap {MAX_EXPORT_PIXELS / 1e6:.0f} Mpx): "
          f"{codes.count(200)} x 200, {codes.count(503)} x 503; a tiny evaluate meanwhile: {te * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
    storm()
