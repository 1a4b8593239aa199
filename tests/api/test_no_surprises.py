"""An API without surprises, over real HTTP through the app: numbers in strings, one error shape for
every status, RFC 3339 timestamps, and the same names in the CLI, REST and Python."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

import engine
from app.cli import main


def post(client, path: str, body) -> tuple[int, dict]:
    r = client.post("/api/v1/" + path, json=body)
    return r.status_code, r.json()


def test_bare_digit_strings_are_refused_naming_both_readings_hex_and_ints_are_not(client, default):
    code, doc = post(client, "evaluate", {"scenario": {**default, "ops": [
        {"op": "add_memory", "start": "100000000", "size": "128M"}]}})
    assert code == 422
    assert doc["detail"][0]["loc"] == ["body", "scenario", "ops", 0, "add_memory", "start"]
    assert "did you mean 0x100000000 (4 GiB) or 100000000 (≈95 MiB)?" in doc["message"]
    code, doc = post(client, "resolve", {"scenario": default, "pfns": ["0x100000", "100000"]})
    assert code == 422 and doc["message"].startswith("pfns[1]: ")
    assert "did you mean 0x100000 or 100000 (= 0x186a0)?" in doc["message"]
    r = client.get(f"/api/v1/scenarios/{'ab' * 12}/figure.svg", params={"view": "hvo", "head_pfn": "108200"})
    assert r.status_code == 422 and "did you mean 0x108200 or 108200 (= 0x1a6a8)?" in r.json()["message"]
    # hex with 0x, integers, and one digit (the same in both readings) are what they say
    code, doc = post(client, "resolve", {"scenario": default, "pfns": ["0x186a0", 100000, "7", 7]})
    assert code == 200
    assert [p["pfn"] for p in doc["pages"]] == ["0x186a0", "0x186a0", "0x7", "0x7"]


def error_of(client, method: str, path: str, **kw) -> tuple[int, dict]:
    r = client.request(method, path, **kw)
    assert r.headers["content-type"].startswith("application/json"), r.text
    doc = r.json()
    assert isinstance(doc["message"], str) and doc["message"], doc
    assert isinstance(doc["detail"], list) and doc["detail"], doc
    assert all({"loc", "msg", "type"} == set(d) and isinstance(d["loc"], list) and d["loc"] for d in doc["detail"])
    return r.status_code, doc


def test_every_error_has_message_and_detail_with_a_usable_loc(client, default):
    code, doc = error_of(client, "GET", "/api/v1/no-such-thing")
    assert code == 404 and doc["detail"][0]["loc"] == ["path", "/api/v1/no-such-thing"]
    code, doc = error_of(client, "POST", "/api/v1/evaluate", json={"scenario_id": "ab" * 12})
    assert code == 404 and doc["message"] == f"scenario_id: scenario {'ab' * 12} not found"
    code, doc = error_of(client, "GET", f"/api/v1/scenarios/{'ab' * 12}")
    assert code == 404 and doc["detail"][0]["loc"] == ["path", "scenario_id"]
    r = client.delete("/api/v1/scenarios")
    code, doc = error_of(client, "DELETE", "/api/v1/scenarios")
    assert code == 405 and doc["detail"][0]["loc"] == ["method"] and r.headers["allow"] == "GET, POST"
    assert doc["message"] == "method: DELETE is not allowed on /api/v1/scenarios; allowed: GET, POST"
    bad = '{\n  "scenario": {\n    "kernel": 6.8,,\n}}'
    with pytest.raises(json.JSONDecodeError) as where:          # the stdlib's reading is the oracle
        json.loads(bad)
    w = where.value
    code, doc = error_of(client, "POST", "/api/v1/evaluate", content=bad, headers={"content-type": "application/json"})
    assert code == 422 and (w.lineno, w.colno) == (3, 19)
    assert doc["detail"][0]["loc"] == ["body", f"line {w.lineno}, column {w.colno} (char {w.pos})"]
    assert doc["message"].startswith(f"line 3, column 19 (char {w.pos}): invalid JSON: ")
    big = json.dumps({"scenario": default, "pad": "x" * (5 << 20)})
    code, doc = error_of(client, "POST", "/api/v1/evaluate", content=big, headers={"content-type": "application/json"})
    assert code == 413 and doc["detail"][0]["loc"] == ["body"] and "over the limit" in doc["message"]
    code, doc = error_of(client, "POST", "/api/v1/resolve", json={"scenario": default, "pfns": [1 << 50]})
    assert code == 422 and doc["detail"][0]["loc"] == ["body", "pfns", 0]


def test_created_at_is_rfc3339(client, default):
    before = datetime.now(timezone.utc)
    r = client.post("/api/v1/scenarios", json=default)
    assert r.status_code in (200, 201)
    saved = r.json()
    listed = client.get("/api/v1/scenarios").json()["items"]
    assert [i["created_at"] for i in listed if i["id"] == saved["id"]] == [saved["created_at"]]
    text = saved["created_at"]
    assert isinstance(text, str) and text.endswith("Z") and "T" in text
    when = datetime.fromisoformat(text)
    assert when.tzinfo is not None and abs(when - before) < timedelta(minutes=5)
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SavedScenario"]["properties"]
    assert schema["created_at"]["type"] == "string" and schema["created_at"]["format"] == "date-time"


def test_head_pfn_is_one_name_in_python_rest_and_cli(client, default, tmp_path, capsys):
    with pytest.raises(engine.ScenarioError) as e:
        engine.evaluate(default).vmemmap(head_pfn=0x12345)
    assert e.value.loc == ("head_pfn",)
    code, doc = post(client, "vmemmap", {"scenario": default, "head_pfn": "0x12345"})
    assert code == 422 and doc["detail"][0]["loc"] == ["body", "head_pfn"]
    sid = client.post("/api/v1/scenarios", json=default).json()["id"]
    r = client.get(f"/api/v1/scenarios/{sid}/figure.svg", params={"view": "hvo", "head_pfn": "0x12345"})
    assert r.status_code == 422 and r.json()["message"].startswith("head_pfn: no live huge page")
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps(default))
    for flag in ("--head_pfn", "--hugepage"):              # --hugepage: the README's old spelling
        assert main(["render", str(scenario), "--view", "hvo", flag, "0x12345", "--out", str(tmp_path / "x.svg")]) == 2
        err = capsys.readouterr().err
        assert "--head_pfn: no live huge page has head pfn 0x12345" in err, err


@pytest.mark.parametrize("text,value", [("0x100000000", 1 << 32), ("0X1f", 31), (" 0x1f\t", 31), ("7", 7), ("0", 0),
                                        (4096, 4096), ("0x" + "f" * 16, (1 << 64) - 1)])
def test_parse_addr_reads_hex_with_0x_and_integers(text, value):
    assert engine.parse_addr(text) == value


@pytest.mark.parametrize("text,words", [
    ("100000000", "did you mean 0x100000000 (4 GiB) or 100000000 (≈95 MiB)?"),
    ("10", "did you mean 0x10 (16 B) or 10 (10 B)?"),
    ("0x_1f", "not a hex"), ("0x", "not a hex"), ("0xg", "not a hex"), ("0x١٢", "not a hex"), ("0x1f\n", "not a hex"),
    ("-0x1", "not a hex"), ("0x" + "f" * 17, "64 bits"), (-1, "negative"), (True, "an integer or a string")])
def test_parse_addr_refuses_the_rest_saying_why(text, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        engine.parse_addr(text)
    assert engine.parse_addr("100000000", decimal=True) == 100_000_000    # a field documented as decimal
