"""Engine speed: evaluate, resolve of 1,000,000 random pfns, a 1,000,000-bin window over the whole
machine, and peak RSS, for the Cython core and the pure-Python twin on the same input.

Each (scenario, implementation) runs in its own process so peak RSS is its own, and times one run
of each step after one untimed evaluate of S (so neither side pays for imports and first calls
inside the timing). Prints a table and the ratios; asserts nothing.
XL (issue 16) has its targets printed beside it: evaluate < 1 s, peak RSS < 1 GiB.
Usage: python bench/bench_engine.py [S M H L XL] [--python-on S,M,H]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
N_PFNS = 1_000_000
N_BINS = 1_000_000


def run_one(name: str, impl: str) -> dict:
    import engine
    from scenarios import SCENARIOS
    engine.evaluate(SCENARIOS["S"](), impl=impl)          # warm-up, untimed
    sc = SCENARIOS[name]()
    t0 = time.perf_counter()
    m = engine.evaluate(sc, impl=impl)
    t_eval = time.perf_counter() - t0
    top = max(int(b["end_pfn"], 16) for b in m.blocks())
    rnd = random.Random(42)
    pfns = array("q", (rnd.randrange(0, top) for _ in range(N_PFNS)))
    t0 = time.perf_counter()
    m.resolve_columns(pfns)
    t_resolve = time.perf_counter() - t0
    t0 = time.perf_counter()
    w = m.window(0, top, N_BINS)
    t_window = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    s = m.summary()
    return {"scenario": name, "impl": m.implementation, "evaluate_s": t_eval, "resolve_s": t_resolve,
            "window_s": t_window, "bins": w["bins"], "peak_rss_mib": rss, "blocks": s["blocks"],
            "hugepages": sum(sum(v.values()) for v in s["hugepages"].values())}


# issue 16: scenario XL evaluates in under a second with a peak RSS under 1 GiB
TARGETS = {"XL": (1.0, 1024.0)}


def _targets(r: dict) -> str:
    t_max, rss_max = TARGETS[r["scenario"]]
    ok = lambda good: "met" if good else "MISSED"  # noqa: E731
    return (f"  [targets: evaluate < {t_max:g} s {ok(r['evaluate_s'] < t_max)}, "
            f"peak RSS < {rss_max / 1024:g} GiB {ok(r['peak_rss_mib'] < rss_max)}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=["S", "M", "H", "L", "XL"])
    ap.add_argument("--python-on", default="S,M,H", help="scenarios where the Python twin also runs")
    ap.add_argument("--one", nargs=2, metavar=("SCENARIO", "IMPL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    rows = []
    for name in args.scenarios:
        impls = ["cython"] + (["python"] if name in args.python_on.split(",") else [])
        for impl in impls:
            out = subprocess.run([sys.executable, __file__, "--one", name, impl], capture_output=True,
                                 text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"{r['scenario']}  {r['impl']:6}  blocks {r['blocks']:6}  huge pages {r['hugepages']:8}  "
                  f"evaluate {r['evaluate_s'] * 1e3:9.1f} ms  resolve 1M {r['resolve_s'] * 1e3:9.1f} ms  "
                  f"window {r['bins']} bins {r['window_s'] * 1e3:9.1f} ms  peak RSS {r['peak_rss_mib']:7.1f} MiB"
                  + (_targets(r) if name in TARGETS else ""), flush=True)
    print("\nratios (python / cython, same input, one run):")
    by = {(r["scenario"], r["impl"]): r for r in rows}
    for name in args.scenarios:
        c, p = by.get((name, "cython")), by.get((name, "python"))
        if c and p:
            print(f"{name}: evaluate {p['evaluate_s'] / c['evaluate_s']:6.1f}x  "
                  f"resolve {p['resolve_s'] / c['resolve_s']:6.1f}x  window {p['window_s'] / c['window_s']:6.1f}x")


if __name__ == "__main__":
    main()
