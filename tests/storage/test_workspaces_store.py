"""Workspaces in the store, on SQLite and on a real PostgreSQL (issue 14 §8): a schema-1 database is
migrated once (also when servers start at once on it) with every old scenario in the default
workspace's list, an interrupted migration leaves schema 1 as it was, one document saved in many
workspaces is stored once and listed in each, removing and pinning touch one workspace only, and
concurrent saves into workspaces lose nothing."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, select

from app import store as store_mod
from app import store_db
from app.store import SCHEMA_VERSION, Store, StoreError, canonical_json, scenario_id

from app_server import ROOT
from storage_helpers import wait_until

# schema 1 as vmemscope 1.0 created it (app/store.py before workspaces), written here by hand
V1 = MetaData()
V1_META = Table("vmemscope_meta", V1, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False))
V1_SCENARIOS = Table("scenarios", V1, Column("id", String(24), primary_key=True),
                     Column("name", String(200), nullable=False), Column("body", Text, nullable=False),
                     Column("bytes", Integer, nullable=False), Column("created_at", Float, nullable=False, index=True))
OLD = [{"kernel": "6.8", "ops": [], "name": f"old {k}"} for k in range(40)]


def make_v1(url: str) -> dict[str, str]:
    """A schema-1 database holding OLD; {id: canonical body}."""
    eng = create_engine(store_mod.normalise_url(url))
    if url.startswith("sqlite"):
        from pathlib import Path
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    bodies = {scenario_id(canonical_json(d)): canonical_json(d) for d in OLD}
    with eng.begin() as c:
        V1.create_all(c)
        c.execute(V1_META.insert().values(key="schema_version", value="1"))
        c.execute(V1_SCENARIOS.insert(), [{"id": sid, "name": f"old {k}", "body": body, "bytes": len(body),
                                           "created_at": 1_700_000_000.0 + k}
                                          for k, (sid, body) in enumerate(bodies.items())])
    eng.dispose()
    return bodies


def version_of(url: str) -> str:
    eng = create_engine(store_mod.normalise_url(url))
    with eng.connect() as c:
        v = c.execute(select(V1_META.c.value).where(V1_META.c.key == "schema_version")).scalar()
    eng.dispose()
    return v


def opened(url: str) -> Store:
    s = Store(url)
    s.open()
    return s


def test_a_schema_1_database_is_migrated_with_every_scenario_in_the_default_workspace(store_url):
    bodies = make_v1(store_url)
    s = opened(store_url)
    try:
        assert version_of(store_url) == str(SCHEMA_VERSION) == "2"
        rows, total = s.list("default", limit=1000)
        assert total == len(OLD) and {r["id"] for r in rows} == set(bodies)
        assert [r["name"] for r in rows[:2]] == ["old 39", "old 38"]               # newest first, as before
        assert all(r["added_at"] == r["created_at"] and r["pinned_at"] is None for r in rows)
        for sid, body in bodies.items():
            assert s.get(sid)["body"] == body                                       # byte for byte
        assert s.list("class-a") == ([], 0)
        sid, listed = s.save(OLD[0], "old 0", "class-a")                            # saved before: listed here too
        assert (sid, listed) == (scenario_id(canonical_json(OLD[0])), True)
        assert s.list("default")[1] == len(OLD)
    finally:
        s.close()
    s = opened(store_url)                                                           # a restart changes nothing
    try:
        assert s.list("default")[1] == len(OLD) and s.list("class-a")[1] == 1
    finally:
        s.close()


RACE = """import os, sys, time
from app.store import Store
store = Store(sys.argv[1])
open(sys.argv[2] + "." + str(os.getpid()), "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
store.open()
"""


def test_servers_starting_at_once_on_a_schema_1_database_migrate_it_once(store_url, tmp_path):
    bodies = make_v1(store_url)
    n, go = 3, tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACE, store_url, str(go)], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True) for _ in range(n)]
    wait_until(lambda: len(list(tmp_path.glob("go.*"))) == n or any(p.poll() for p in procs), 60, "racers ready")
    go.touch()
    errs = [(p.wait(60), p.stderr.read()) for p in procs]
    assert all(rc == 0 for rc, _ in errs), errs
    s = opened(store_url)
    try:
        rows, total = s.list("default", limit=1000)
        assert total == len(bodies) and sorted(r["id"] for r in rows) == sorted(bodies)      # each once
        with s.engine.connect() as c:
            assert c.execute(select(func.count()).select_from(store_db.workspace_scenarios)).scalar() == len(bodies)
    finally:
        s.close()


def test_an_interrupted_migration_leaves_schema_1_as_it_was(store_url, monkeypatch):
    bodies = make_v1(store_url)

    def half_done(c) -> None:
        store_db.workspace_scenarios.create(c)               # the table is made, then the power goes
        raise RuntimeError("interrupted")
    monkeypatch.setitem(store_db.MIGRATIONS, 1, half_done)
    with pytest.raises((StoreError, RuntimeError)):
        opened(store_url)
    assert version_of(store_url) == "1"
    eng = create_engine(store_mod.normalise_url(store_url))
    with eng.connect() as c:
        names = set(__import__("sqlalchemy").inspect(c).get_table_names())
        assert names == {"vmemscope_meta", "scenarios"}, names                    # the new table rolled back too
        assert c.execute(select(func.count()).select_from(V1_SCENARIOS)).scalar() == len(bodies)
    eng.dispose()
    monkeypatch.undo()
    s = opened(store_url)                                                           # the next start migrates
    try:
        assert s.list("default", limit=1000)[1] == len(bodies)
    finally:
        s.close()


def test_one_document_in_two_workspaces_is_stored_once_and_listed_in_each(store_url):
    s = opened(store_url)
    try:
        doc = {"kernel": "6.8", "ops": [], "name": "shared"}
        a, b = s.save(doc, "shared", "class-a"), s.save(doc, "shared", "class-b")
        assert a[0] == b[0] == scenario_id(canonical_json(doc)) and a[1] and b[1]
        assert s.save(doc, "shared", "class-a") == (a[0], False)                   # again: nothing changes
        with s.engine.connect() as c:
            assert c.execute(select(func.count()).select_from(store_db.scenarios)).scalar() == 1
        assert [r["id"] for r in s.list("class-a")[0]] == [r["id"] for r in s.list("class-b")[0]] == [a[0]]
        assert s.list("default") == ([], 0)
        # removing from class-a leaves class-b's entry and the document
        assert s.remove("class-a", a[0]) == "removed" and s.remove("class-a", a[0]) == "absent"
        assert s.list("class-a")[1] == 0 and s.list("class-b")[1] == 1
        assert s.get(a[0])["body"] == canonical_json(doc)
        # pinned first, in pin order; a pinned entry stays until unpinned
        ids = [s.save({"kernel": "6.8", "ops": [], "name": f"n{k}"}, f"n{k}", "class-b")[0] for k in range(3)]
        assert [r["id"] for r in s.list("class-b")[0]] == [*ids[::-1], a[0]]
        assert s.pin("class-b", ids[0]) and s.pin("class-b", a[0]) and s.pin("class-b", ids[0])
        rows = s.list("class-b")[0]
        assert [r["id"] for r in rows] == [ids[0], a[0], ids[2], ids[1]]
        assert s.remove("class-b", a[0]) == "pinned" and s.list("class-b")[1] == 4
        assert s.pin("class-b", a[0], False) and s.remove("class-b", a[0]) == "removed"
        assert s.pin("class-b", "0" * 24) is False and s.pin("class-z", ids[1], False) is False
        assert s.pin("class-c", ids[1]) and s.list("class-c")[0][0]["pinned_at"] is not None   # pin lists it there
        with pytest.raises(Exception, match="workspace name is 1 to 32"):
            s.list("Class-A")
    finally:
        s.close()


def test_concurrent_saves_into_workspaces_lose_nothing(store_url):
    s = opened(store_url)
    errors: list[str] = []

    def worker(k: int) -> None:
        try:
            for j in range(15):
                s.save({"kernel": "6.8", "ops": [], "name": f"same {j}"}, f"same {j}", f"ws-{k % 3}")
                s.save({"kernel": "6.8", "ops": [], "name": f"own {k} {j}"}, f"own {k} {j}", f"ws-{k % 3}")
        except Exception as e:                    # noqa: BLE001 - reported below
            errors.append(repr(e))
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        for w in range(3):
            rows, total = s.list(f"ws-{w}", limit=1000)
            assert total == 15 + 2 * 15 and len({r["id"] for r in rows}) == total
        with s.engine.connect() as c:
            assert c.execute(select(func.count()).select_from(store_db.scenarios)).scalar() == 15 + 6 * 15
        if s.sqlite:
            assert s.integrity() == "ok"
    finally:
        s.close()


def test_a_read_only_schema_1_database_is_served_unmigrated_with_its_scenarios_in_default(tmp_path):
    """A data directory that cannot be written (immutable files) is not migrated: its scenarios are
    listed in the default workspace as the migration would list them, and saves are refused."""
    import os
    from app.store import StoreUnavailable
    data = tmp_path / "ro"
    url = f"sqlite:///{data / 'scenarios.db'}"
    bodies = make_v1(url)
    files = [data, *data.iterdir()]
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True).returncode != 0:
            pytest.skip("this filesystem has no immutable flag (chattr +i) and we are root")
    else:
        for p in files:
            p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        s = opened(url)
        assert s.read_only and s.schema_version == 1
        rows, total = s.list("default", limit=1000)
        assert total == len(bodies) and {r["id"] for r in rows} == set(bodies)
        assert all(r["pinned_at"] is None and r["workspace"] == "default" for r in rows)
        assert s.list("class-a") == ([], 0) and s.entry("default", rows[0]["id"])["name"] == rows[0]["name"]
        with pytest.raises(StoreUnavailable, match="read-only"):
            s.save({"kernel": "6.8", "ops": []}, "x", "class-a")
        s.close()
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *map(str, files)], capture_output=True)
        else:
            for p in files:
                p.chmod(0o755 if p.is_dir() else 0o644)
    assert version_of(url) == "1"
