"""Fairness under load, against `vmemscope serve` on 127.0.0.1 (issue 17): the largest valid
scenario sent alone and by 8 clients at once (refusals, latency), /healthz and a cached /resolve p95
meanwhile, the server's peak RSS, and how many replays one dashboard edit costs (issue 16).
Prints figures; asserts nothing. Bounded: about 30-50 s on 2 cores."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from engine.presets import DEFAULT_SCENARIO  # noqa: E402
from scenarios import scenario_l  # noqa: E402

CLIENTS = 8
PER_CLIENT = 2


def largest(k: int) -> dict:
    """Scenario L (64 TiB in 32,768 blocks, 1,000 1 GiB + 1,000,000 2 MiB pages), made distinct by k
    so that no request is answered from the cache."""
    sc = scenario_l()
    sc["ops"][2] = {**sc["ops"][2], "count": 1_000 - k}
    return sc


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def serve(data: str) -> tuple[subprocess.Popen, str]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env={**os.environ, "VMEMSCOPE_DATA_DIR": data}, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start: " + proc.stderr.read())


def evaluate(c: httpx.Client, k: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    r = c.post("/api/v1/evaluate", json={"scenario": largest(k), "hugepages_limit": 10, "blocks_limit": 10})
    return r.status_code, time.perf_counter() - t0


def main() -> None:
    data = tempfile.mkdtemp(prefix="vmemscope-bench-")
    proc, base = serve(data)
    try:
        with httpx.Client(base_url=base, timeout=120) as c:
            small = {"scenario": DEFAULT_SCENARIO, "pfns": [hex(0x100000 + i) for i in range(100)]}
            assert c.post("/api/v1/resolve", json=small).status_code == 200          # cached from now on
            lone = [evaluate(c, k) for k in range(2)]
        print(f"largest valid scenario (L) alone: {[s for s, _ in lone]}, "
              f"{', '.join(f'{t:.2f}' for _, t in lone)} s")

        results: list[tuple[int, float]] = []
        probes: dict[str, list[float]] = {"healthz": [], "resolve": []}
        done = threading.Event()

        def client(i: int) -> None:
            with httpx.Client(base_url=base, timeout=300) as c:
                for j in range(PER_CLIENT):
                    results.append(evaluate(c, 10 + i * PER_CLIENT + j))

        def prober() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                while not done.is_set():
                    for name, call in (("healthz", lambda: c.get("/healthz")),
                                       ("resolve", lambda: c.post("/api/v1/resolve", json=small))):
                        t0 = time.perf_counter()
                        assert call().status_code == 200
                        probes[name].append(time.perf_counter() - t0)
                    time.sleep(0.02)
        p = threading.Thread(target=prober)
        p.start()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        storm = time.perf_counter() - t0
        done.set()
        p.join()
        codes = [s for s, _ in results]
        lone_refused = sum(s != 200 for s, _ in lone)
        print(f"{CLIENTS} clients x {PER_CLIENT} distinct L scenarios in {storm:.1f} s: "
              f"{codes.count(200)} answered, {codes.count(422)} refused (422), {codes.count(503)} busy (503); "
              f"lone client refused {lone_refused}/{len(lone)}")
        print(f"  latency p50 {pct([t for _, t in results], 50):.2f} s, p95 {pct([t for _, t in results], 95):.2f} s")
        for name, xs in probes.items():
            print(f"  {name:8s} during the storm: n={len(xs)}  p50 {pct(xs, 50) * 1e3:.1f} ms  "
                  f"p95 {pct(xs, 95) * 1e3:.1f} ms")

        with httpx.Client(base_url=base, timeout=60) as c:             # static/js/main.js evaluateDoc + map
            before = c.get("/healthz").json()["cache"]["misses"]
            doc = {**DEFAULT_SCENARIO, "name": "one edit",
                   "ops": DEFAULT_SCENARIO["ops"] + [{"op": "alloc_hugepages", "size": "2M", "count": 5, "node": 0}]}
            sid = c.post("/api/v1/scenarios", json=doc).json()["id"]
            c.post("/api/v1/evaluate", json={"scenario_id": sid, "hugepages_limit": 500})
            c.post("/api/v1/window", json={"scenario_id": sid, "start_pfn": "0x100000", "end_pfn": "0x110000",
                                           "bins": 512, "figure": "map"})
            cache = c.get("/healthz").json()["cache"]
            print(f"replays per dashboard edit (save, evaluate by id, map window): {cache['misses'] - before}")
            print(f"cache: {cache['entries']} machines, {cache['bytes'] / 2**20:.0f} MiB "
                  f"(bound {cache['max_bytes'] / 2**20:.0f} MiB), {cache['evictions']} evicted")
        hwm = next(ln for ln in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if ln.startswith("VmHWM"))
        print(f"server peak RSS: {int(hwm.split()[1]) / 1024:.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
