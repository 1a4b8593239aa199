"""Saved scenarios on SQLite and on a real PostgreSQL, as an operator runs them: two app servers
sharing one database, kill -9 of one, servers starting together on an empty database, control
characters in names, and (PostgreSQL) a database stopped, restarted and hung mid-traffic."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.store import Store, canonical_json
from engine.presets import DEFAULT_SCENARIO

from app_server import ROOT, free_port
from storage_helpers import wait_until


def doc(k: int, j: int) -> dict:
    return {**DEFAULT_SCENARIO, "name": f"client {k} save {j}"}


# each child imports everything, says it is ready, then waits for "go" so that all open at once
RACE = """import os, sys, time
from app.store import Store
store = Store(sys.argv[1])
open(sys.argv[2] + "." + str(os.getpid()), "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
store.open()
"""


def test_servers_starting_at_once_on_an_empty_database_all_come_up(store_url, pg_cluster_if_postgres, tmp_path):
    """Schema creation under concurrent start-up (it used to fail on PostgreSQL with a duplicate
    key on pg_type or on vmemscope_meta)."""
    n = 3
    for rnd in range(3):
        url = store_url if rnd == 0 else pg_cluster_if_postgres(store_url, rnd)
        go = tmp_path / f"go{rnd}"
        procs = [subprocess.Popen([sys.executable, "-c", RACE, url, str(go)], cwd=ROOT, stderr=subprocess.PIPE,
                                  text=True) for _ in range(n)]
        wait_until(lambda: len(list(tmp_path.glob(f"go{rnd}.*"))) == n or any(p.poll() for p in procs), 60,
                   "the racers are ready")
        go.touch()
        errs = [(p.wait(60), p.stderr.read()) for p in procs]
        assert all(rc == 0 for rc, _ in errs), errs
        store = Store(url)
        store.open()
        assert store.save({"x": rnd}, "probe")[1] is True
        store.close()


@pytest.fixture()
def pg_cluster_if_postgres(request, tmp_path):
    """Another fresh database of the same kind as store_url, for one more round."""
    def another(url: str, rnd: int) -> str:
        if url.startswith("sqlite"):
            return f"sqlite:///{tmp_path / f'round{rnd}' / 'scenarios.db'}"
        return request.getfixturevalue("pg_cluster").new_database()
    return another


def test_two_servers_share_the_store_and_kill_9_loses_nothing(store_url, serve):
    url = store_url.replace("postgresql://", "postgres://")          # libpq's other spelling works too
    a, b = serve(url), serve(url)
    acked: dict[str, str] = {}
    lock, enough, a_killed = threading.Lock(), threading.Event(), threading.Event()
    failures: list[str] = []

    def client(srv, k: int) -> None:
        with srv.client(timeout=20) as c:
            for j in range(2_000):
                d = doc(k, j)
                try:
                    r = c.post("/api/v1/scenarios", json=d)
                except Exception:                   # noqa: BLE001 - the server is gone (kill -9)
                    return
                if r.status_code not in (200, 201):
                    failures.append(r.text)
                    return
                with lock:
                    acked[r.json()["id"]] = canonical_json(d)
                    if len(acked) >= 200:
                        enough.set()
                    if a_killed.is_set() and len(acked) >= 300:
                        return
    threads = [threading.Thread(target=client, args=(srv, k)) for k, srv in enumerate([a, b] * 3)]
    for t in threads:
        t.start()
    assert enough.wait(120), "200 saves were not acknowledged within 120 s"
    a.kill9()
    a_killed.set()
    for t in threads:
        t.join(120)
    assert failures == []
    with b.client() as c:                               # the survivor reads every acknowledged save
        for sid, body in acked.items():
            r = c.get(f"/api/v1/scenarios/{sid}")
            assert r.status_code == 200 and r.content == body.encode(), sid
        again = c.post("/api/v1/scenarios", json=doc(0, 0))
        assert again.status_code == 200 and again.json()["id"] in acked       # same document, same id
    assert len(acked) >= 300


@pytest.mark.parametrize("name", ["nul\x00inside", "tab\there", "bell\x07", "del\x7f", "c1\x85"])
def test_control_characters_in_names_are_refused_on_every_store(store_url, tmp_path, name):
    with TestClient(create_app(Settings(data_dir=tmp_path, database_url=store_url))) as c:
        r = c.post("/api/v1/scenarios", json={**DEFAULT_SCENARIO, "name": name})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "name"] and "control character" in r.json()["message"]
        ok = c.post("/api/v1/scenarios", json={**DEFAULT_SCENARIO, "name": "ünïcode name · fine"})
        assert ok.status_code == 201
        assert c.get("/api/v1/scenarios").json()["total"] == 1


# ------------------------------------------------------------------ outages (PostgreSQL)
OUTAGE_ENV = {"VMEMSCOPE_DB_TIMEOUT": "1.5", "VMEMSCOPE_DB_CONNECT_TIMEOUT": "1", "VMEMSCOPE_RETRY_AFTER": "3"}


def assert_safe_503(r, pg) -> None:
    assert r.status_code == 503, (r.status_code, r.text[:300])
    assert r.headers["retry-after"] == "3"
    msg = r.json()["message"]
    assert r.json()["detail"][0]["loc"] == ["store"] and r.json()["detail"][0]["type"].startswith("store_")
    assert msg and "127.0.0.1" not in r.text and str(pg.port) not in r.text and "postgres" not in r.text.lower()


def database_routes(c, sid: str) -> list:
    return [c.get(f"/api/v1/scenarios/{sid}"), c.get("/api/v1/scenarios"),
            c.post("/api/v1/scenarios", json=doc(99, 99)),
            c.post("/api/v1/evaluate", json={"scenario_id": "f" * 24})]


def test_a_stopped_then_restarted_database_answers_503_then_recovers(pg_cluster, serve):
    srv = serve(pg_cluster.new_database(), **OUTAGE_ENV)
    with srv.client() as c:
        sid = c.post("/api/v1/scenarios", json=doc(0, 0)).json()["id"]
        assert c.get("/readyz").status_code == 200
        pg_cluster.stop()
        try:
            for _ in range(25):                                    # repeated identical failures
                for r in database_routes(c, sid):
                    assert_safe_503(r, pg_cluster)
            assert c.get("/healthz").status_code == 200            # alive ...
            assert_safe_503(c.get("/readyz"), pg_cluster)          # ... but not ready
            assert c.get("/").status_code == 200                   # pages need no database
            assert c.post("/api/v1/evaluate", json={"scenario": DEFAULT_SCENARIO}).status_code == 200
        finally:
            pg_cluster.start()
        wait_until(lambda: c.get("/readyz").status_code == 200, 30, "ready again after the restart")
        assert c.get(f"/api/v1/scenarios/{sid}").status_code == 200
        assert c.post("/api/v1/scenarios", json=doc(1, 1)).status_code == 201
    log = srv.rest_of_log()
    warned = [ln for ln in log if "database unavailable" in ln]
    assert 0 < len(warned) <= 12, f"{len(warned)} warnings for 100 failed requests"   # rate-limited
    assert not any("Traceback" in ln for ln in log)


def test_a_hung_database_costs_requests_seconds_and_pages_nothing(pg_cluster, serve):
    srv = serve(pg_cluster.new_database(), **OUTAGE_ENV)
    with srv.client(timeout=30) as c:
        sid = c.post("/api/v1/scenarios", json=doc(0, 0)).json()["id"]
        pg_cluster.signal_all(signal.SIGSTOP)
        try:
            out: list = []
            hung = [threading.Thread(target=lambda: out.append(c.get(f"/api/v1/scenarios/{sid}")))
                    for _ in range(16)]                            # more than the database threads
            for t in hung:
                t.start()
            assert c.get("/").status_code == 200                   # never waits on the database
            assert c.get("/healthz").status_code == 200
            for t in hung:
                t.join(30)
            assert len(out) == 16
            for r in out:
                assert_safe_503(r, pg_cluster)
            assert_safe_503(c.get("/readyz"), pg_cluster)
        finally:
            pg_cluster.signal_all(signal.SIGCONT)
        wait_until(lambda: c.get("/readyz").status_code == 200, 30, "ready again after SIGCONT")
        assert c.get(f"/api/v1/scenarios/{sid}").status_code == 200


def _serve_fails(url: str, **env) -> str:
    r = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())], cwd=ROOT,
                       env={**__import__("os").environ, "DATABASE_URL": url, **OUTAGE_ENV, **env},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    line = r.stderr.strip()
    assert line.count("\n") == 0 and "refusing to start" in line, r.stderr
    return line


def test_serve_fails_fast_with_one_redacted_line_when_the_database_is_unreachable():
    line = _serve_fails(f"postgresql://vm:s3cret-pw@127.0.0.1:{free_port()}/vm")
    assert "s3cret-pw" not in line and "***" in line


def test_serve_fails_fast_when_the_database_hangs(pg_cluster):
    url = pg_cluster.new_database().replace("postgres@", "postgres:s3cret-pw@")
    pg_cluster.signal_all(signal.SIGSTOP)
    try:
        line = _serve_fails(url)
    finally:
        pg_cluster.signal_all(signal.SIGCONT)
    assert ("did not answer" in line or "timeout expired" in line) and "s3cret-pw" not in line
