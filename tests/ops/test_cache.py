"""The machine cache: bounded by bytes, evicted machines freed at once (no reference cycles), and
one replay per document whatever route brought it (the dashboard's save-then-evaluate included)."""
from __future__ import annotations

import gc
import tracemalloc
import weakref

import pytest
from fastapi.testclient import TestClient

import engine
from engine import DEFAULT_SCENARIO

from app.cache import MachineCache
from app.main import create_app
from app.settings import Settings


def hugepages(count: int) -> dict:
    return {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "64G", "node": 0}],
            "ops": [{"op": "alloc_hugepages", "size": "2M", "count": count, "node": 0}]}


@pytest.fixture()
def no_gc():
    """Only reference counting frees memory here: a cycle would keep a machine alive."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_an_evicted_machine_is_freed_at_once_without_a_full_gc(no_gc):
    tracemalloc.start()
    try:
        m = engine.evaluate(hugepages(20_000))
        m.summary()
        held = tracemalloc.get_traced_memory()[0]
        gone = weakref.ref(m)
        cache = MachineCache(max_entries=1)
        cache.get_or_evaluate("a", lambda m=m: m)
        del m
        assert gone() is not None
        cache.get_or_evaluate("b", lambda: engine.evaluate(DEFAULT_SCENARIO))     # evicts "a"
        assert gone() is None
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # the replayed state (tables, huge page columns) went with it, not only the outer object
    assert held - after > 0.8 * engine.evaluate(hugepages(20_000)).nbytes, (held, after)


def test_the_cache_is_bounded_by_bytes():
    ms = [engine.evaluate(hugepages(n)) for n in (10_000, 10_001, 10_002, 10_003)]
    one = max(m.nbytes for m in ms)
    cache = MachineCache(max_entries=100, max_bytes=int(2.5 * one))
    for k, m in enumerate(ms):
        cache.get_or_evaluate(str(k), lambda m=m: m)
    st = cache.stats()
    assert st["entries"] == 2 and st["bytes"] <= st["max_bytes"] and st["evictions"] == 2
    assert cache.peek("0") is None and cache.peek("3") is ms[3]


def test_the_default_cache_bound_is_in_bytes_and_settable(monkeypatch, tmp_path):
    monkeypatch.setenv("VMEMSCOPE_CACHE_BYTES", str(64 << 20))
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        assert c.get("/healthz").json()["cache"]["max_bytes"] == 64 << 20


def replays(c: TestClient) -> int:
    return c.get("/healthz").json()["cache"]["misses"]


def test_one_dashboard_edit_replays_once(tmp_path):
    """The dashboard's request sequence (static/js/main.js evaluateDoc, then the map): save the
    document, evaluate it by id, ask a window by id; and the same document inline or under
    another name."""
    doc = {**DEFAULT_SCENARIO, "name": "edit 1",
           "ops": DEFAULT_SCENARIO["ops"] + [{"op": "alloc_hugepages", "size": "2M", "count": 3, "node": 0}]}
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        before = replays(c)
        sid = c.post("/api/v1/scenarios", json=doc).json()["id"]
        ev = c.post("/api/v1/evaluate", json={"scenario_id": sid, "hugepages_limit": 500})
        assert ev.status_code == 200
        w = c.post("/api/v1/window", json={"scenario_id": sid, "start_pfn": "0x100000", "end_pfn": "0x110000",
                                           "bins": 256})
        assert w.status_code == 200
        assert c.post("/api/v1/evaluate", json={"scenario": doc}).status_code == 200
        assert c.post("/api/v1/evaluate", json={"scenario": {**doc, "name": "renamed"}}).status_code == 200
        assert replays(c) - before == 1
    # a new server (empty cache) that knows the id only from the store: still one replay
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        before = replays(c)
        assert c.post("/api/v1/evaluate", json={"scenario_id": sid}).status_code == 200
        assert c.post("/api/v1/evaluate", json={"scenario": doc}).status_code == 200
        assert replays(c) - before == 1


def test_the_dashboards_concurrent_save_and_evaluate_replay_once(tmp_path):
    """As static/js/main.js sends them since drawing stopped waiting for the save: the save (kept, not
    listed) and the evaluation of the same document at once, then the views with the document inline."""
    from concurrent.futures import ThreadPoolExecutor
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        for n in range(5):
            doc = {**DEFAULT_SCENARIO, "name": f"edit {n}", "ops": DEFAULT_SCENARIO["ops"] + [
                {"op": "alloc_hugepages", "size": "2M", "count": n + 1, "node": 0}]}
            before = replays(c)
            with ThreadPoolExecutor(2) as pool:
                save = pool.submit(c.post, "/api/v1/workspaces/class-a/scenarios?listed=false", json=doc)
                ev = pool.submit(c.post, "/api/v1/evaluate", json={"scenario": doc, "hugepages_limit": 500})
                assert save.result().status_code == 201 and ev.result().status_code == 200
            for path, body in (("/api/v1/window", {"start_pfn": "0x100000", "end_pfn": "0x110000", "bins": 256}),
                               ("/api/v1/sections", {}), ("/api/v1/chain", {"pfn": "0x100000"})):
                assert c.post(path, json={"scenario": doc, **body}).status_code == 200, path
            assert replays(c) - before == 1
