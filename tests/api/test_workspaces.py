"""Workspaces for saved scenarios (issue 14 §8), through real HTTP to `vmemscope serve` processes with
the real engine: one list per workspace, ids that stay content hashes, removal from one workspace,
pins listed first that cannot be removed, a trainer token when the server has one, the old routes as
the `default` workspace, a schema-1 database served after its migration, and errors of the one shape."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from app.store import canonical_json
from engine.presets import DEFAULT_SCENARIO

from app_server import Server

WS = "/api/v1/workspaces"


def doc(name: str) -> dict:
    return {**copy.deepcopy(DEFAULT_SCENARIO), "name": name}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server({"VMEMSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("open")), "VMEMSCOPE_TRAINER_TOKEN": ""})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def trainer_srv(tmp_path_factory):
    s = Server({"VMEMSCOPE_DATA_DIR": str(tmp_path_factory.mktemp("trainer")), "VMEMSCOPE_TRAINER_TOKEN": "s3cret-Tr"})
    yield s
    s.stop()


def save(c, ws: str | None, d: dict, status: int = 201) -> dict:
    r = c.post(f"{WS}/{ws}/scenarios" if ws else "/api/v1/scenarios", json=d)
    assert r.status_code == status, r.text
    return r.json()


def listed(c, ws: str | None) -> list[str]:
    r = c.get(f"{WS}/{ws}/scenarios" if ws else "/api/v1/scenarios")
    assert r.status_code == 200, r.text
    return [i["name"] for i in r.json()["items"]]


def test_each_workspace_lists_its_own_and_ids_stay_content_hashes(srv):
    with srv.client() as c:
        a1 = save(c, "t1-class-a", doc("a1"))
        save(c, "t1-class-a", doc("a2"))
        b1 = save(c, "t1-class-b", doc("b1"))
        assert listed(c, "t1-class-a") == ["a2", "a1"] and listed(c, "t1-class-b") == ["b1"]
        same = save(c, "t1-class-b", doc("a1"))                     # the same document in another workspace
        assert same["id"] == a1["id"] and same["workspace"] == "t1-class-b" and same["created_at"] == a1["created_at"]
        assert save(c, "t1-class-b", doc("a1"), status=200)["id"] == a1["id"]       # again: already listed
        assert listed(c, "t1-class-b") == ["a1", "b1"] and listed(c, "t1-class-a") == ["a2", "a1"]
        assert "a1" not in listed(c, None) and "b1" not in listed(c, None)          # not the default workspace's
        r = c.get(f"/api/v1/scenarios/{b1['id']}")                  # a document is read by id from anywhere
        assert r.status_code == 200 and r.content == canonical_json(doc("b1")).encode()
        assert c.post("/api/v1/evaluate", json={"scenario_id": b1["id"]}).status_code == 200
        page = c.get(f"{WS}/t1-class-a/scenarios", params={"limit": 1, "offset": 1}).json()
        assert page["workspace"] == "t1-class-a" and page["total"] == 2 and [i["name"] for i in page["items"]] == ["a1"]
        assert page["trainer_token_required"] is False


def test_the_old_routes_are_the_default_workspace(srv):
    with srv.client() as c:
        d = save(c, None, doc("old route"))
        assert d["workspace"] == "default" and d["url"] == f"/api/v1/scenarios/{d['id']}"
        assert listed(c, "default")[0] == "old route" == listed(c, None)[0]
        assert save(c, "default", doc("old route"), status=200)["id"] == d["id"]
        assert c.delete(f"{WS}/default/scenarios/{d['id']}").status_code == 204
        assert "old route" not in listed(c, None)
        assert c.get(f"/api/v1/scenarios/{d['id']}").status_code == 200          # links never break


def test_remove_takes_an_entry_off_one_workspace_only(srv):
    with srv.client() as c:
        d = doc("shared")
        sid = save(c, "t3-a", d)["id"]
        save(c, "t3-b", d)
        r = c.delete(f"{WS}/t3-a/scenarios/{sid}")
        assert r.status_code == 204 and r.content == b""
        assert listed(c, "t3-a") == [] and listed(c, "t3-b") == ["shared"]
        r = c.delete(f"{WS}/t3-a/scenarios/{sid}")
        assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["path", "scenario_id"]
        assert r.json()["message"] == f"scenario_id: workspace t3-a does not list scenario {sid}"
        assert c.get(f"{WS}/t3-a/scenarios/{sid}").status_code == 404
        assert c.get(f"{WS}/t3-b/scenarios/{sid}").json()["name"] == "shared"
        assert save(c, "t3-a", d)["id"] == sid                       # saved again: listed again (201)


def test_pinned_entries_come_first_and_stay_until_unpinned(srv):
    with srv.client() as c:
        ids = {n: save(c, "t4", doc(n))["id"] for n in ("one", "two", "three", "four")}
        assert listed(c, "t4") == ["four", "three", "two", "one"]
        etag = c.get(f"{WS}/t4/scenarios").headers["etag"]
        before = datetime.now(timezone.utc)
        for n in ("two", "one"):                                     # the trainer's order
            r = c.put(f"{WS}/t4/scenarios/{ids[n]}/pin")
            assert r.status_code == 200 and r.json()["pinned"] is True
        assert listed(c, "t4") == ["two", "one", "four", "three"]
        got = c.get(f"{WS}/t4/scenarios", headers={"If-None-Match": etag})
        assert got.status_code == 200 and got.headers["etag"] != etag                # the list changed
        item = got.json()["items"][0]
        for key in ("created_at", "added_at", "pinned_at"):
            assert item[key].endswith("Z") and "T" in item[key]
            assert abs(datetime.fromisoformat(item[key]) - before) < timedelta(minutes=5)
        r = c.delete(f"{WS}/t4/scenarios/{ids['two']}")
        why = f"scenario {ids['two']} is pinned in workspace t4: unpin it first"
        assert r.status_code == 409 and r.json()["detail"] == [{"loc": ["path", "scenario_id"], "type": "pinned", "msg": why}]
        assert r.json()["message"].startswith("scenario_id: scenario ") and listed(c, "t4")[0] == "two"
        r = c.delete(f"{WS}/t4/scenarios/{ids['two']}/pin")
        assert r.status_code == 200 and r.json()["pinned"] is False and r.json()["pinned_at"] is None
        assert listed(c, "t4") == ["one", "four", "three", "two"]
        assert c.delete(f"{WS}/t4/scenarios/{ids['two']}").status_code == 204
        # pinning a scenario saved elsewhere lists it in this workspace, pinned
        other = save(c, "t4-other", doc("from elsewhere"))["id"]
        assert c.put(f"{WS}/t4/scenarios/{other}/pin").status_code == 200
        assert listed(c, "t4")[:2] == ["one", "from elsewhere"]
        r = c.put(f"{WS}/t4/scenarios/{'0' * 24}/pin")
        assert r.status_code == 404 and r.json()["message"] == f"scenario_id: scenario {'0' * 24} not found"
        assert c.delete(f"{WS}/t4-nothing/scenarios/{other}/pin").status_code == 404


@pytest.mark.parametrize("bad", ["Class-A", "-a", "a" * 33, "a_b", "caf%C3%A9", "a%20b", "a.b"])
def test_a_bad_workspace_name_is_a_422_naming_the_field_and_the_rule(srv, bad):
    with srv.client() as c:
        for method, path in (("GET", f"{WS}/{bad}/scenarios"), ("POST", f"{WS}/{bad}/scenarios"),
                             ("DELETE", f"{WS}/{bad}/scenarios/{'ab' * 12}"),
                             ("PUT", f"{WS}/{bad}/scenarios/{'ab' * 12}/pin")):
            r = c.request(method, path, json=doc("x") if method == "POST" else None)
            assert r.status_code == 422, (method, path, r.text)
            body = r.json()
            assert body["detail"][0]["loc"] == ["path", "workspace"]
            assert body["detail"][0]["type"] == "string_pattern_mismatch"
            assert body["message"].startswith("workspace: a workspace name is 1 to 32 characters of a-z, 0-9 and '-'")
            assert "^[a-z0-9][a-z0-9-]{0,31}$" in body["message"]
    with srv.client() as c:                                     # the longest and shortest good names
        for good in ("a" * 32, "0", "9-lives"):
            assert c.get(f"{WS}/{good}/scenarios").status_code == 200


def test_a_trainer_token_guards_pins_when_the_server_has_one(trainer_srv):
    with trainer_srv.client() as c:
        sid = save(c, "class-t", doc("exercise 1"))["id"]
        assert c.get(f"{WS}/class-t/scenarios").json()["trainer_token_required"] is True
        for headers, why in (({}, "pinning needs the trainer's token in X-Trainer-Token"),
                             ({"X-Trainer-Token": "guess"}, "this is not the trainer's token")):
            for method in ("PUT", "DELETE"):
                r = c.request(method, f"{WS}/class-t/scenarios/{sid}/pin", headers=headers)
                assert r.status_code == 403, r.text
                assert r.json()["detail"][0]["loc"] == ["header", "x-trainer-token"]
                assert why in r.json()["message"] and "s3cret" not in r.text
        assert c.get(f"{WS}/class-t/scenarios").json()["items"][0]["pinned"] is False
        key = {"X-Trainer-Token": "s3cret-Tr"}
        assert c.put(f"{WS}/class-t/scenarios/{sid}/pin", headers=key).json()["pinned"] is True
        assert c.delete(f"{WS}/class-t/scenarios/{sid}").status_code == 409           # the token does not remove it
        assert c.delete(f"{WS}/class-t/scenarios/{sid}/pin", headers=key).json()["pinned"] is False
        other = save(c, "class-t", doc("trainee's"))["id"]
        assert c.delete(f"{WS}/class-t/scenarios/{other}").status_code == 204        # removing needs no token
        assert c.delete(f"{WS}/class-t/scenarios/{sid}").status_code == 204


def test_a_schema_1_database_is_served_with_its_scenarios_in_the_default_workspace(tmp_path):
    db = tmp_path / "scenarios.db"
    eng = create_engine(f"sqlite:///{db}")
    body = canonical_json(doc("from 1.0"))
    with eng.begin() as c:                          # what vmemscope 1.0 wrote
        c.execute(text("CREATE TABLE vmemscope_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)"))
        c.execute(text("CREATE TABLE scenarios (id VARCHAR(24) PRIMARY KEY, name VARCHAR(200) NOT NULL, "
                       "body TEXT NOT NULL, bytes INTEGER NOT NULL, created_at FLOAT NOT NULL)"))
        c.execute(text("INSERT INTO vmemscope_meta VALUES ('schema_version', '1')"))
        c.execute(text("INSERT INTO scenarios VALUES ('0123456789abcdef01234567', 'from 1.0', :b, :n, 1700000000.5)"),
                  {"b": body, "n": len(body)})
    eng.dispose()
    s = Server({"VMEMSCOPE_DATA_DIR": str(tmp_path)})
    try:
        with s.client() as c:
            items = c.get("/api/v1/scenarios").json()["items"]
            assert [(i["id"], i["name"], i["created_at"], i["added_at"], i["pinned"]) for i in items] == [
                ("0123456789abcdef01234567", "from 1.0", "2023-11-14T22:13:20.500Z", "2023-11-14T22:13:20.500Z", False)]
            assert c.get("/api/v1/scenarios/0123456789abcdef01234567").content == body.encode()
            assert listed(c, "class-a") == []
    finally:
        s.stop()


def test_the_openapi_schema_documents_workspaces_with_examples(srv):
    with srv.client() as c:
        spec = c.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths[f"{WS}/{{workspace}}/scenarios"]) == {"get", "post"}
    assert set(paths[f"{WS}/{{workspace}}/scenarios/{{scenario_id}}"]) == {"get", "delete"}
    assert set(paths[f"{WS}/{{workspace}}/scenarios/{{scenario_id}}/pin"]) == {"put", "delete"}
    ws = next(p for p in paths[f"{WS}/{{workspace}}/scenarios"]["get"]["parameters"] if p["name"] == "workspace")
    assert ws["schema"]["pattern"] == "^[a-z0-9][a-z0-9-]{0,31}$" and ws["schema"]["examples"] == ["class-a"]
    pin = paths[f"{WS}/{{workspace}}/scenarios/{{scenario_id}}/pin"]["put"]
    assert {"403", "404"} <= set(pin["responses"]) and any(p["name"] == "X-Trainer-Token" for p in pin["parameters"])
    assert "409" in paths[f"{WS}/{{workspace}}/scenarios/{{scenario_id}}"]["delete"]["responses"]
    post = paths[f"{WS}/{{workspace}}/scenarios"]["post"]["requestBody"]["content"]["application/json"]
    example = post["examples"]["class-a"]["value"]
    with srv.client() as c:                                     # the example is a document the engine takes
        assert c.post(f"{WS}/t9/scenarios", json=example).status_code == 201
    saved = spec["components"]["schemas"]["SavedScenario"]["properties"]
    assert saved["added_at"]["format"] == "date-time" and "pinned" in saved


def test_a_state_kept_with_listed_false_has_a_permalink_but_joins_no_list(srv):
    """The dashboard keeps every state it shows (listed=false) and lists only what people save."""
    with srv.client() as c:
        for ws, base in (("t9-kept", f"{WS}/t9-kept/scenarios"), (None, "/api/v1/scenarios")):
            before = listed(c, ws)
            d = doc(f"kept in {ws}")
            r = c.post(f"{base}?listed=false", json=d)
            assert r.status_code == 201, r.text                     # new to the store
            kept = r.json()
            assert kept["listed"] is False and kept["added_at"] is None and kept["pinned"] is False
            assert c.get(kept["url"]).json()["name"] == d["name"]    # the permalink's document
            assert listed(c, ws) == before
            again = c.post(f"{base}?listed=false", json=d)
            assert again.status_code == 200 and again.json()["id"] == kept["id"]
            saved = save(c, ws, d)                                  # Save: now listed, same id
            assert saved["id"] == kept["id"] and saved["listed"] is True and listed(c, ws) == [d["name"]] + before
            stays = c.post(f"{base}?listed=false", json=d).json()   # keeping it again does not unlist it
            assert stays["listed"] is True and listed(c, ws) == [d["name"]] + before
        bad = c.post(f"{WS}/t9-kept/scenarios?listed=maybe", json=doc("x"))
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "listed"]
