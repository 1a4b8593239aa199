"""API latency through the real app: uvicorn on 127.0.0.1, keep-alive HTTP/1.1 clients in asyncio.

Prints /resolve of 100,000 pfns in each answer format (pages, columns, NDJSON: time and bytes), then
requests/s and p50/p95/p99 for /evaluate (default scenario, cached machine), /evaluate
uncached (a new scenario name per request, so each one replays), /window (2,000 bins, saved
scenario) and /resolve (100 random pfns), with 1 client and with 20 concurrent clients, plus the
latency of /healthz while 20 clients run uncached evaluations (is the event loop responsive?).
Asserts nothing. Usage: python bench/bench_api.py [--seconds 20] [--clients 20] [--resolve-only]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from engine.presets import DEFAULT_SCENARIO  # noqa: E402


class Conn:
    """One keep-alive HTTP/1.1 connection (enough client for JSON over loopback, ~20 us/request)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.r = self.w = None

    async def request(self, method: str, path: str, body: bytes = b"", accept: str = "*/*") -> tuple[int, bytes]:
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 24)
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Accept: {accept}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.w.write(head + body)
        await self.w.drain()
        status_line = await self.r.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            if k.lower() == "content-length":
                length = int(v)
            chunked |= k.lower() == "transfer-encoding" and "chunked" in v
        if not chunked:
            return status, await self.r.readexactly(length)
        parts = []                                  # a streamed answer (NDJSON)
        while (n := int((await self.r.readline()).split(b";")[0], 16)):
            parts.append(await self.r.readexactly(n))
            await self.r.readexactly(2)
        await self.r.readline()
        return status, b"".join(parts)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


async def load(port: int, make, clients: int, seconds: float) -> dict:
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client(k: int) -> None:
        nonlocal errors
        c = Conn(port)
        i = 0
        while time.perf_counter() < stop:
            method, path, body = make(k, i)
            t0 = time.perf_counter()
            status, _ = await c.request(method, path, body)
            lat.append(time.perf_counter() - t0)
            errors += status >= 400
            i += 1
    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    return {"n": len(lat), "rps": len(lat) / wall, "p50": pct(lat, 50) * 1e3, "p95": pct(lat, 95) * 1e3,
            "p99": pct(lat, 99) * 1e3, "errors": errors}


def start_server(data_dir: str) -> tuple[subprocess.Popen, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = dict(os.environ, VMEMSCOPE_DATA_DIR=data_dir)
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                          str(port), "--log-level", "info", "--no-access-log"], cwd=ROOT, env=env,
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:                       # wait for uvicorn to say it is up
        if "Uvicorn running on" in line:
            return p, port
    raise RuntimeError("uvicorn exited before it started")


def server_cpu_s(pid: int) -> float:
    """CPU time the server process has used, all its threads (ns resolution, unlike getrusage)."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:                             # a thread that just ended
            pass
    return total / 1e9


async def bulk_resolve(port: int, pid: int, sid: str, n: int = 100_000, runs: int = 5) -> None:
    """/resolve of n random pfns (a saved scenario, its machine cached) in each answer format: the
    best of `runs` round trips over loopback, the server's CPU time for that request (steadier than
    wall time on a shared machine) and the body size."""
    c = Conn(port)
    rnd = random.Random(2)
    pfns = [rnd.randrange(0, 0x118000) for _ in range(n)]
    print(f"\n/resolve of {n:,} random pfns (default scenario, cached machine), best of {runs}:")
    print(f"{'answer':18} {'pfns as':8} {'wall ms':>8} {'server CPU ms':>14} {'body bytes':>12} {'bytes/pfn':>10}")
    for pfn_kind, given in (("hex", [hex(p) for p in pfns]), ("ints", pfns)):
        for name, fmt, accept in (("pages (JSON)", "pages", "application/json"),
                                  ("columns (JSON)", "columns", "application/json"),
                                  ("NDJSON stream", "pages", "application/x-ndjson")):
            body = json.dumps({"scenario_id": sid, "pfns": given, "format": fmt}).encode()
            best, cpu, size = float("inf"), float("inf"), 0
            for _ in range(runs):
                t0, c0 = time.perf_counter(), server_cpu_s(pid)
                status, answer = await c.request("POST", "/api/v1/resolve", body, accept)
                best, cpu = min(best, time.perf_counter() - t0), min(cpu, server_cpu_s(pid) - c0)
                assert status == 200, answer[:300]
                size = len(answer)
            print(f"{name:18} {pfn_kind:8} {best * 1e3:8.1f} {cpu * 1e3:14.1f} {size:12,} {size / n:10.1f}",
                  flush=True)


async def main_async(seconds: float, clients: int, resolve_only: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        proc, port = start_server(d)
        try:
            c = Conn(port)
            status, body = await c.request("POST", "/api/v1/scenarios", json.dumps(DEFAULT_SCENARIO).encode())
            sid = json.loads(body)["id"]
            await bulk_resolve(port, proc.pid, sid)
            if resolve_only:
                return
            rnd = random.Random(1)
            ev = json.dumps({"scenario": DEFAULT_SCENARIO}).encode()
            win = json.dumps({"scenario_id": sid, "start_pfn": "0x100000", "end_pfn": "0x110000",
                              "bins": 2000}).encode()
            res_bodies = [json.dumps({"scenario_id": sid, "pfns": [rnd.randrange(0, 0x110000) for _ in range(100)]})
                          .encode() for _ in range(64)]
            work = {
                "/evaluate (cached)": lambda k, i: ("POST", "/api/v1/evaluate", ev),
                "/evaluate (uncached)": lambda k, i: ("POST", "/api/v1/evaluate", json.dumps(
                    {"scenario": dict(DEFAULT_SCENARIO, name=f"bench {k} {i} {time.time()}")}).encode()),
                "/window 2000 bins": lambda k, i: ("POST", "/api/v1/window", win),
                "/resolve 100 pfns": lambda k, i: ("POST", "/api/v1/resolve", res_bodies[(k * 7 + i) % 64]),
            }
            print(f"{'endpoint':24} {'clients':>7} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
                  f"{'p99 ms':>8} {'errors':>6}")
            for name, make in work.items():
                for n in (1, clients):
                    r = await load(port, make, n, seconds if n > 1 else min(seconds, 5))
                    print(f"{name:24} {n:7} {r['n']:9} {r['rps']:8.0f} {r['p50']:8.2f} {r['p95']:8.2f} "
                          f"{r['p99']:8.2f} {r['errors']:6}", flush=True)
            # event-loop responsiveness: /healthz from one client while `clients` replay scenarios
            heavy = asyncio.create_task(load(port, work["/evaluate (uncached)"], clients, seconds))
            hz = await load(port, lambda k, i: ("GET", "/healthz", b""), 1, seconds)
            h = await heavy
            print(f"\n/healthz under {clients} uncached evaluators: p50 {hz['p50']:.2f} ms, p95 {hz['p95']:.2f} ms, "
                  f"p99 {hz['p99']:.2f} ms ({hz['n']} requests; evaluators {h['rps']:.0f} req/s, "
                  f"{h['errors']} errors)")
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--resolve-only", action="store_true", help="only the 100,000-pfn /resolve figures")
    a = ap.parse_args()
    asyncio.run(main_async(a.seconds, a.clients, a.resolve_only))


if __name__ == "__main__":
    main()
