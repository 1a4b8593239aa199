"""Hostile input, table-driven: each case with its expected status and message. Never a 5xx, never
a hang: the worst valid scenarios answer within their replay budget or are refused with the reason."""
from __future__ import annotations

import json
import time

import pytest

BOOT = [{"start": "0x0", "size": "4G", "node": 0}]


def sc(ops=(), **kw) -> dict:
    return {"kernel": "6.8", "boot_memory": BOOT, "ops": list(ops), **kw}


def add(start="0x100000000", size="128M", **kw) -> dict:
    return {"op": "add_memory", "start": start, "size": size, **kw}


HOSTILE = [
    # (case, raw body or object, status, message fragment)
    ("overlapping hot-add", {"scenario": sc([add(), add()])}, 422, "scenario.ops[1].start: overlaps memory32"),
    ("hot-add over boot memory", {"scenario": sc([add("0xf8000000")])}, 422, "scenario.ops[0].start: overlaps memory31"),
    ("misaligned hot-add", {"scenario": sc([add("0x100100000")])}, 422, "not aligned to the 128 MiB memory block size"),
    ("size 0", {"scenario": sc([add(size=0)])}, 422, "scenario.ops[0].size: must not be 0"),
    ("size 2**64", {"scenario": sc([add(size=1 << 64)])}, 422, "scenario.ops[0].add_memory.size"),
    ("size 2**64 as text", {"scenario": sc([add(size="16E")])}, 422, "size does not fit in 64 bits"),
    ("negative address", {"scenario": sc([add(start=-1)])}, 422, "scenario.ops[0].add_memory.start"),
    ("negative count", {"scenario": sc([{"op": "alloc_hugepages", "size": "2M", "count": -5}])}, 422,
     "scenario.ops[0].alloc_hugepages.count"),
    ("non-hex address", {"scenario": sc([add(start="0xfoo")])}, 422, "is not a hex (0x...) number or an integer"),
    ("hex without 0x", {"scenario": sc([add(start="100000000")])}, 422,
     "did you mean 0x100000000 (4 GiB) or 100000000 (≈95 MiB)?"),
    ("beyond 46-bit limit", {"scenario": sc([add(start="0x400000000000")])}, 422,
     "scenario.ops[0].start: 0x400000000000 is beyond the 46-bit physical address limit"),
    ("beyond limit in a query", {"scenario": sc(), "pfns": [1 << 50]}, 422, "pfns[0]: pfn 0x4000000000000 is beyond"),
    ("NaN", b'{"scenario": {"ops": [{"op": "alloc_hugepages", "size": "2M", "count": NaN}]}}', 422,
     "scenario.ops[0].alloc_hugepages.count"),
    ("Infinity", b'{"scenario": {"boot_memory": [{"start": 0, "size": Infinity}]}}', 422, "scenario.boot_memory[0].size"),
    ("unknown field", {"scenario": sc(), "zoom": 3}, 422, "zoom: Extra inputs are not permitted"),
    ("unknown op field", {"scenario": sc([add(colour="red")])}, 422, "colour: Extra inputs are not permitted"),
    ("unknown id", {"scenario_id": "f" * 24}, 404, "not found"),
    ("malformed id", {"scenario_id": "../../etc/passwd"}, 422, "scenario_id: String should match pattern"),
    ("wrong types", {"scenario": {"kernel": 6.8}}, 422, "scenario.kernel: Input should be a valid string"),
    ("boolean as number", {"scenario": sc([{"op": "alloc_hugepages", "size": "2M", "count": True}])}, 422,
     "count: Input should be a valid integer"),
    ("10,001 ops", {"scenario": sc([{"op": "sysctl", "hugetlb_optimize_vmemmap": True}] * 10_001)}, 422,
     "scenario.ops: List should have at most 10000 items"),
    ("100,000 ops", {"scenario": sc([add()] * 100_000)}, 413, "over the limit"),
    ("10 MB body", {"scenario": sc(), "pad": "x" * 10_000_000}, 413, "over the limit"),
    ("deeply nested", b'{"scenario": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "error parsing the body"),
    ("not JSON", b"\x00\x01binary", 422, "line 1, column 1 (char 0): invalid JSON: Expecting value"),
    ("too many blocks", {"scenario": sc(machine={"memory_block_size": "128M"}, boot_memory=[{"start": 0, "size": "16T"}])},
     422, "scenario.boot_memory: 131072 memory blocks of 128 MiB: the simulator holds at most 65536"),
]


@pytest.mark.parametrize("case,body,status,message", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_input(client, case, body, status, message):
    path = "/api/v1/resolve" if case == "beyond limit in a query" else "/api/v1/evaluate"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    t0 = time.perf_counter()
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    elapsed = time.perf_counter() - t0
    assert r.status_code == status, r.text[:500]
    doc = r.json()
    text = doc.get("message") or doc.get("detail")
    assert message in (text if isinstance(text, str) else json.dumps(text)), text
    assert "Traceback" not in r.text
    assert elapsed < 5, f"{case} took {elapsed:.1f} s"


WORST = {
    # the largest machine the simulator holds: 5-level paging, 65,536 blocks of 2 GiB (128 TiB)
    "largest machine": sc(machine={"paging_levels": 5, "memory_block_size": "2G"},
                          boot_memory=[{"start": "0x0", "size": "128T", "node": 0}]),
    # most ops, each as expensive as allowed: 2,000,000 huge pages allocated and freed, 5,000 times
    "most ops": sc([{"op": "alloc_hugepages", "size": "2M", "count": 2_000_000},
                    {"op": "free_hugepages", "size": "2M", "count": 2_000_000}] * 5_000,
                   machine={"memory_block_size": "2G"}, boot_memory=[{"start": "0x0", "size": "8T"}]),
    "both": sc([{"op": "alloc_hugepages", "size": "1G", "count": 2_000_000}] * 10_000,
               machine={"paging_levels": 5, "memory_block_size": "2G"},
               boot_memory=[{"start": "0x0", "size": "128T", "node": 0}]),
}


# No hang, not a speed figure: the replay budget (VMEMSCOPE_EVAL_BUDGET, 1.2 s of CPU time) ends
# these in about 1.3 s on an idle machine, but wall time on a shared one is not the test's to judge
# (bench/ prints the figures); a minute means the budget did not stop the replay.
HANG_S = 60


@pytest.mark.parametrize("name", list(WORST))
def test_worst_case_scenarios_answer_or_are_refused_without_hanging(client, name):
    t0 = time.perf_counter()
    r = client.post("/api/v1/evaluate", json={"scenario": WORST[name], "hugepages_limit": 10})
    elapsed = time.perf_counter() - t0
    assert elapsed < HANG_S, f"{name}: {elapsed:.2f} s"
    assert r.status_code in (200, 422), r.text[:300]
    if r.status_code == 422:
        assert "needs more time than one request may take" in r.json()["message"]
    # the worker is free again: a small request answers at once
    t0 = time.perf_counter()
    assert client.get("/healthz").status_code == 200 and time.perf_counter() - t0 < 0.5
