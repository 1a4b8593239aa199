"""Saved scenarios: content-addressed, immutable, byte-identical, cacheable, and they survive a restart."""
from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from app.store import SCHEMA_VERSION, Store, StoreError, canonical_json, scenario_id


def save(client, doc, status=201):
    r = client.post("/api/v1/scenarios", json=doc)
    assert r.status_code == status, r.text
    return r.json()


def test_same_document_same_id_whatever_the_key_order(client, default):
    a = save(client, default)
    reordered = json.loads(json.dumps(default, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    reordered["ops"] = [dict(reversed(list(op.items()))) for op in reordered["ops"]]
    b = save(client, reordered, status=200)
    assert a["id"] == b["id"]
    # the id is the hash of the canonical JSON, computed independently here
    canon = json.dumps(default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert a["id"] == __import__("hashlib").sha256(canon.encode()).hexdigest()[:24]
    assert a["bytes"] == len(canon.encode()) and a["url"] == f"/api/v1/scenarios/{a['id']}"
    # a different document is a different id (editing saves a new one)
    default["name"] = "edited"
    assert save(client, default)["id"] != a["id"]


def test_get_returns_the_canonical_bytes_with_etag(client, default):
    sid = save(client, default)["id"]
    r = client.get(f"/api/v1/scenarios/{sid}")
    assert r.status_code == 200
    assert r.content == canonical_json(default).encode()
    assert r.headers["etag"] == f'"{sid}"' and "immutable" in r.headers["cache-control"]
    r2 = client.get(f"/api/v1/scenarios/{sid}", headers={"If-None-Match": f'"{sid}"'})
    assert r2.status_code == 304 and r2.content == b""


def test_saved_scenario_answers_like_the_inline_one(client, default):
    sid = save(client, default)["id"]
    for path, extra in (("evaluate", {}), ("resolve", {"pfns": ["0x100000", "0x100200", "0x108200"]}),
                        ("window", {"start_pfn": "0x100000", "end_pfn": "0x110000", "bins": 256})):
        by_id = client.post(f"/api/v1/{path}", json={"scenario_id": sid, **extra}).json()
        inline = client.post(f"/api/v1/{path}", json={"scenario": default, **extra}).json()
        assert by_id.pop("scenario_id") == sid and inline.pop("scenario_id") is None
        assert by_id == inline


def test_repeated_queries_hit_the_machine_cache(client, default):
    before = client.get("/healthz").json()["cache"]
    for _ in range(5):
        client.post("/api/v1/resolve", json={"scenario": default, "pfns": [0x100000]})
    after = client.get("/healthz").json()["cache"]
    assert after["misses"] - before["misses"] == 1 and after["hits"] - before["hits"] == 4


def test_a_document_the_engine_refuses_is_not_saved(client, default):
    default["ops"][0]["start"] = "0x100100000"
    r = client.post("/api/v1/scenarios", json=default)
    assert r.status_code == 422
    assert r.json()["message"].startswith("ops[0].start: not aligned")
    assert client.get("/api/v1/scenarios").json()["total"] == 0


def test_list_is_newest_first_with_limit_and_offset(client, default):
    ids = []
    for i in range(5):
        default["name"] = f"s{i}"
        ids.append(save(client, default)["id"])
    page = client.get("/api/v1/scenarios?limit=2&offset=1")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    doc = page.json()
    assert doc["total"] == 5 and (doc["limit"], doc["offset"]) == (2, 1)
    assert [x["id"] for x in doc["items"]] == ids[::-1][1:3]
    assert [x["name"] for x in doc["items"]] == ["s3", "s2"]
    r = client.get("/api/v1/scenarios?limit=2&offset=1", headers={"If-None-Match": page.headers["etag"]})
    assert r.status_code == 304
    assert client.get("/api/v1/scenarios?limit=0").status_code == 422


def test_saved_scenarios_survive_a_restart(tmp_path, default, make_client):
    with make_client(tmp_path) as c:
        sid = save(c, default)["id"]
        body = c.get(f"/api/v1/scenarios/{sid}").content
    with make_client(tmp_path) as c:
        assert c.get(f"/api/v1/scenarios/{sid}").content == body
        assert c.post("/api/v1/evaluate", json={"scenario_id": sid}).status_code == 200
        assert c.get("/api/v1/scenarios").json()["total"] == 1
    con = sqlite3.connect(tmp_path / "scenarios.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_concurrent_saves_lose_nothing(tmp_path, default, make_client):
    with make_client(tmp_path) as c:
        results, errors = {}, []

        def worker(k: int) -> None:
            for j in range(5):
                doc = dict(default, name=f"client {k} save {j}")
                r = c.post("/api/v1/scenarios", json=doc)
                (results.__setitem__((k, j), (r.json()["id"], canonical_json(doc))) if r.status_code == 201
                 else errors.append(r.text))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and len(results) == 40
        for sid, body in results.values():
            assert c.get(f"/api/v1/scenarios/{sid}").content == body.encode()
        assert c.app.state.store.integrity() == "ok"


def test_newer_schema_or_foreign_database_refuses_to_start_and_is_kept(tmp_path):
    db = tmp_path / "scenarios.db"
    Store(f"sqlite:///{db}").open()
    con = sqlite3.connect(db)
    con.execute("UPDATE vmemscope_meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer than this vmemscope"):
        Store(f"sqlite:///{db}").open()
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM vmemscope_meta").fetchone()[0] == str(SCHEMA_VERSION + 1)

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="refusing to start"):
        Store(f"sqlite:///{junk}").open()
    assert junk.read_bytes() == b"this is not a database" * 100


def test_scenario_id_is_stable():
    assert scenario_id(canonical_json({"b": 1, "a": [1, "é"]})) == scenario_id('{"a":[1,"é"],"b":1}')
