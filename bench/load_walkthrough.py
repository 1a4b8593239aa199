"""Load test: simulated trainees following the walkthroughs against the real server on 127.0.0.1.

Each trainee opens a walkthrough step (save the step's scenario, evaluate it), zooms the map
(/window with the map figure, as the dashboard asks), hovers and clicks pages (/resolve, /chain)
and moves on, with 0.2-1 s of think time between actions. Meanwhile one probe asks /healthz every
100 ms. Prints requests/s, p50/p95/p99 and errors per endpoint. Bounded in time; 127.0.0.1 only.
Usage: python bench/load_walkthrough.py [--users 50] [--seconds 60]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import Conn, pct, start_server  # noqa: E402


async def trainee(k: int, port: int, walkthroughs: list[dict], stop: float, lat, errors) -> None:
    rnd = random.Random(k)
    c = Conn(port)

    async def call(name: str, method: str, path: str, body: dict | None = None):
        t0 = time.perf_counter()
        status, raw = await c.request(method, path, json.dumps(body).encode() if body is not None else b"")
        lat[name].append(time.perf_counter() - t0)
        if status >= 400:
            errors[name] += 1
            return None
        return json.loads(raw) if raw else None

    while time.perf_counter() < stop:
        wt = rnd.choice(walkthroughs)
        for step in wt["steps"]:
            if time.perf_counter() >= stop:
                return
            saved = await call("POST /scenarios", "POST", "/api/v1/scenarios", step["scenario"])
            if not saved:
                continue
            ref = {"scenario_id": saved["id"]}
            await call("POST /evaluate", "POST", "/api/v1/evaluate", {**ref, "hugepages_limit": 500})
            lo, hi = (int(x, 16) for x in step["view"]["range"])
            for _ in range(3):                                  # zoom in twice, then out
                await asyncio.sleep(rnd.uniform(0.2, 1.0))
                w = await call("POST /window (map figure)", "POST", "/api/v1/window",
                               {**ref, "start_pfn": lo, "end_pfn": hi, "bins": 700, "figure": "map"})
                await call("POST /window 2000 bins", "POST", "/api/v1/window",
                           {**ref, "start_pfn": lo, "end_pfn": hi, "bins": 2000})
                if w:
                    span = max(16, (hi - lo) // 4)
                    lo = rnd.randrange(lo, max(lo + 1, hi - span))
                    hi = lo + span
                pfns = [rnd.randrange(lo, hi) for _ in range(rnd.randint(1, 10))]
                await call("POST /resolve (hover)", "POST", "/api/v1/resolve", {**ref, "pfns": pfns})
            await call("POST /chain (click)", "POST", "/api/v1/chain", {**ref, "pfn": lo})
            await asyncio.sleep(rnd.uniform(0.2, 1.0))


async def probe(port: int, stop: float, lat) -> None:
    c = Conn(port)
    while time.perf_counter() < stop:
        t0 = time.perf_counter()
        await c.request("GET", "/healthz")
        lat["GET /healthz (probe)"].append(time.perf_counter() - t0)
        await asyncio.sleep(0.1)


async def run(users: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        proc, port = start_server(d)
        try:
            c = Conn(port)
            _, raw = await c.request("GET", "/api/v1/walkthroughs")
            walkthroughs = []
            for w in json.loads(raw):
                _, raw = await c.request("GET", f"/api/v1/walkthroughs/{w['slug']}")
                walkthroughs.append(json.loads(raw))
            lat, errors = defaultdict(list), defaultdict(int)
            stop = time.perf_counter() + seconds
            t0 = time.perf_counter()
            await asyncio.gather(probe(port, stop, lat),
                                 *(trainee(k, port, walkthroughs, stop, lat, errors) for k in range(users)))
            wall = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(10)
    total = sum(len(v) for v in lat.values())
    print(f"{users} trainees for {wall:.0f} s: {total} requests, {total / wall:.0f} req/s, "
          f"{sum(errors.values())} errors")
    print(f"{'endpoint':28} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
    for name in sorted(lat):
        v = lat[name]
        print(f"{name:28} {len(v):8} {len(v) / wall:7.1f} {pct(v, 50) * 1e3:8.1f} {pct(v, 95) * 1e3:8.1f} "
              f"{pct(v, 99) * 1e3:8.1f} {errors[name]:6}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    asyncio.run(run(a.users, a.seconds))


if __name__ == "__main__":
    main()
