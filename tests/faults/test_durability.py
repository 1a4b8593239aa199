"""Durability: kill -9 during saves loses no acknowledged scenario; a full disk or a read-only data
directory answers 503 on save while reads keep working; a corrupt or newer database stops the start
with one clear line and is left as it was."""
from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from app.store import SCHEMA_VERSION, Store, canonical_json
from engine.presets import DEFAULT_SCENARIO

ROOT = Path(__file__).resolve().parents[2]


def doc(k: int, j: int, pad: int = 0) -> dict:
    """A distinct scenario; pad adds sysctl ops (about 50 bytes each) to make it bigger."""
    extra = [{"op": "sysctl", "hugetlb_optimize_vmemmap": True}] * pad
    return {**DEFAULT_SCENARIO, "name": f"client {k} save {j}", "ops": DEFAULT_SCENARIO["ops"] + extra}


def test_kill_9_while_20_clients_save(tmp_path, servers):
    srv = servers(tmp_path)
    acked: dict[str, str] = {}
    lock, enough = threading.Lock(), threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=srv.base, timeout=10) as c:
            for j in range(10_000):
                d = doc(k, j)
                try:
                    r = c.post("/api/v1/scenarios", json=d)
                except httpx.HTTPError:
                    return                                   # the server is gone
                if r.status_code in (200, 201):
                    with lock:
                        acked[r.json()["id"]] = canonical_json(d)
                        if len(acked) >= 300:
                            enough.set()
                else:
                    raise AssertionError(r.text)
    threads = [threading.Thread(target=client, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    assert enough.wait(120), "300 saves were not acknowledged within 120 s"
    srv.kill9()                                              # mid-flight: clients are still saving
    for t in threads:
        t.join(30)
    with lock:
        snapshot = dict(acked)
    assert len(snapshot) >= 300
    con = sqlite3.connect(tmp_path / "scenarios.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    srv2 = servers(tmp_path)
    with httpx.Client(base_url=srv2.base, timeout=10) as c:
        for sid, body in snapshot.items():
            r = c.get(f"/api/v1/scenarios/{sid}")
            assert r.status_code == 200 and r.content == body.encode(), sid
        assert c.get("/api/v1/scenarios?limit=1").json()["total"] >= len(snapshot)


def _limit_file_size(limit: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)        # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_full_disk_answers_503_on_save_and_reads_keep_working(tmp_path, servers):
    first = servers(tmp_path)
    with httpx.Client(base_url=first.base, timeout=10) as c:
        saved = c.post("/api/v1/scenarios", json=doc(0, 0)).json()["id"]
    first.stop()
    # the disk is "full": no file of this server may grow past 64 KiB (the database already holds some)
    srv = servers(tmp_path, preexec=_limit_file_size(64 << 10))
    acked, refused = {}, None
    with httpx.Client(base_url=srv.base, timeout=10) as c:
        for j in range(200):
            d = doc(1, j, pad=40)
            r = c.post("/api/v1/scenarios", json=d)
            if r.status_code == 503:
                refused = r
                break
            assert r.status_code == 201, r.text
            acked[r.json()["id"]] = canonical_json(d)
        assert refused is not None, "the store never filled up"
        assert "cannot save the scenario now" in refused.json()["message"]
        assert "full" in refused.json()["message"] or "disk" in refused.json()["message"]
        for sid, body in {saved: canonical_json(doc(0, 0)), **acked}.items():
            r = c.get(f"/api/v1/scenarios/{sid}")
            assert r.status_code == 200 and r.content == body.encode()
        assert c.post("/api/v1/evaluate", json={"scenario_id": saved}).status_code == 200
        assert c.get("/healthz").status_code == 200


def _immutable(paths, on: bool) -> bool:
    r = subprocess.run(["chattr", "+i" if on else "-i", *map(str, paths)], capture_output=True)
    return r.returncode == 0


def test_read_only_data_directory_answers_503_on_save(tmp_path, servers):
    data = tmp_path / "data"
    first = servers(data)
    with httpx.Client(base_url=first.base, timeout=10) as c:
        saved = c.post("/api/v1/scenarios", json=doc(0, 0)).json()["id"]
    first.stop()
    files = [data, *data.iterdir()]
    if os.geteuid() == 0:
        if not _immutable(files, True):                       # root ignores mode bits: use the immutable flag
            pytest.skip("this filesystem has no immutable flag (chattr +i) and we are root")
    else:
        for p in files:
            p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        srv = servers(data)
        assert any("read-only" in line for line in srv.log)
        with httpx.Client(base_url=srv.base, timeout=10) as c:
            r = c.post("/api/v1/scenarios", json=doc(1, 1))
            assert r.status_code == 503 and "read-only" in r.json()["message"]
            assert r.json()["detail"][0]["loc"] == ["store"]                 # the one error shape
            r = c.get(f"/api/v1/scenarios/{saved}")
            assert r.status_code == 200 and r.content == canonical_json(doc(0, 0)).encode()
            assert c.get("/api/v1/scenarios").json()["total"] == 1
    finally:
        if os.geteuid() == 0:
            _immutable(files, False)
        else:
            for p in files:
                p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.mark.parametrize("kind", ["corrupt", "newer"])
def test_a_bad_database_stops_the_start_and_is_kept(tmp_path, kind):
    db = tmp_path / "scenarios.db"
    if kind == "corrupt":
        db.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)
    else:
        store = Store(f"sqlite:///{db}")
        store.open()
        store.close()
        con = sqlite3.connect(db)
        con.execute("UPDATE vmemscope_meta SET value=?", (str(SCHEMA_VERSION + 1),))
        con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")        # everything in the main file
        con.close()
    before = db.read_bytes()
    env = dict(os.environ, VMEMSCOPE_DATA_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "1"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    line = r.stderr.strip()
    assert line.count("\n") == 0 and "refusing to start" in line, r.stderr
    assert ("newer than this vmemscope" in line) if kind == "newer" else True
    assert db.read_bytes() == before
