"""The evaluation budget counts the evaluating thread's CPU time: concurrency does not turn valid
work into refusals, the budget still stops work that is too big, the totals are part of it, and a
full engine queue answers 503 with Retry-After."""
from __future__ import annotations

import statistics
import threading
import time

import pytest
from fastapi.testclient import TestClient

import engine
from engine import ScenarioError

from app import deps
from app.main import create_app
from app.settings import Settings


def hotplug(blocks: int, pages: int) -> dict:
    """`blocks` 128 MiB blocks hot-added and onlined, then `pages` 2 MiB HugeTLB pages."""
    size = f"{blocks * 128}M"
    return {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": [{"op": "add_memory", "start": "0x100000000", "size": size, "node": 0},
                    {"op": "online", "start": "0x100000000", "size": size, "zone": "movable"},
                    {"op": "alloc_hugepages", "size": "2M", "count": pages, "node": 0}]}


WORK = hotplug(2048, 25_000)          # ~0.25 s of CPU with the pure-Python replay


def cpu_of_lone_run(sc: dict) -> float:
    runs = []
    for _ in range(2):
        t0 = time.thread_time()
        engine.evaluate(sc, impl="python")
        runs.append(time.thread_time() - t0)
    return statistics.median(runs)


def test_concurrent_evaluations_within_budget_are_never_refused():
    lone = cpu_of_lone_run(WORK)
    budget = lone / 0.4                # each replay alone needs ~40% of its budget (contention inflates CPU
                                       # time a little too; a wall-clock budget would still refuse: ~4x)
    n = 4                              # on 2 cores (and one GIL) each replay's wall time is ~4x its CPU time
    refused: list[str] = []
    walls: list[float] = []
    start = threading.Barrier(n)

    def run() -> None:
        start.wait()
        t0 = time.perf_counter()
        try:
            engine.evaluate(WORK, impl="python", budget_s=budget)
        except ScenarioError as e:
            refused.append(str(e))
        walls.append(time.perf_counter() - t0)
    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refused == [], refused
    # the test means something only if wall time would have run out: the replays did overlap
    assert max(walls) > budget, (walls, budget)


def test_the_cpu_budget_still_stops_work_that_is_too_big():
    lone = cpu_of_lone_run(WORK)
    with pytest.raises(ScenarioError, match="needs more time than one request may take"):
        engine.evaluate(hotplug(4096, 50_000), impl="python", budget_s=lone)


def app_client(tmp_path, **kw) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, **kw)))


@pytest.fixture(autouse=True)
def default_engine_pool():
    """The engine pool is per process: give later tests (and the module-level app) the defaults back."""
    yield
    defaults = Settings()
    deps.configure(defaults.eval_threads, defaults.eval_queue)


def heavy_totals(monkeypatch, seconds: float) -> None:
    """summary() walks the blocks and the runs of huge pages, which costs little since the pool keeps
    runs (issue 16): make the totals take `seconds` of CPU time more, so the tests below still have
    totals that weigh."""
    from engine.api import EvaluatedMachine
    compute = EvaluatedMachine._compute_summary

    def slow(self):
        t0 = time.thread_time()
        while time.thread_time() - t0 < seconds:
            pass
        return compute(self)
    monkeypatch.setattr(EvaluatedMachine, "_compute_summary", slow)


def test_the_totals_are_computed_inside_the_budget(tmp_path, monkeypatch):
    """A replay that fits its budget while the totals would not is refused (the totals used to be
    computed afterwards, on the event loop, outside any budget)."""
    sc = {"kernel": "6.8", "machine": {"memory_block_size": "2G"},
          "boot_memory": [{"start": "0x0", "size": "2112G", "node": 0}],
          "ops": [{"op": "alloc_hugepages", "size": "2M", "count": 1_000_000, "node": 0}]}
    t0 = time.thread_time()
    m = engine.evaluate(sc)
    replay = time.thread_time() - t0
    heavy_totals(monkeypatch, 2 * replay + 0.05)
    m.summary()
    total = time.thread_time() - t0
    assert total > 2 * replay, "the totals must weigh for this test to mean anything"
    with app_client(tmp_path, eval_budget_s=(replay + total) / 2) as c:
        r = c.post("/api/v1/evaluate", json={"scenario": sc, "hugepages_limit": 1})
        assert r.status_code == 422, r.text[:300]
        assert "needs more time than one request may take" in r.json()["message"]
    with app_client(tmp_path, eval_budget_s=total * 3) as c:
        r = c.post("/api/v1/evaluate", json={"scenario": sc, "hugepages_limit": 1})
        assert r.status_code == 200 and r.json()["totals"]["hugetlb_pages"] == 1_000_000 * 512


def test_a_full_engine_queue_answers_503_with_retry_after(tmp_path, monkeypatch):
    heavy_totals(monkeypatch, 0.2)
    with app_client(tmp_path, eval_threads=1, eval_queue=1) as c:
        # distinct documents (no shared replay), each ~0.2 s of totals: six at once overflow 1 + 1
        docs = [{"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "512G", "node": 0}],
                 "ops": [{"op": "alloc_hugepages", "size": "2M", "count": 100_000 + k, "node": 0}]}
                for k in range(6)]
        out: list = []

        def post(d: dict) -> None:
            out.append(c.post("/api/v1/evaluate", json={"scenario": d, "hugepages_limit": 1}))
        threads = [threading.Thread(target=post, args=(d,)) for d in docs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in out)
        assert set(codes) <= {200, 503} and 200 in codes and 503 in codes, codes
        busy = next(r for r in out if r.status_code == 503)
        assert int(busy.headers["retry-after"]) > 0 and "busy" in busy.json()["message"]
        assert busy.json()["detail"] == [{"loc": ["engine"], "msg": busy.json()["message"][len("engine: "):],
                                          "type": "engine_busy"}]               # the one error shape
        assert c.get("/healthz").status_code == 200
