"""Every error class of the API: 422 naming the field path and the rule, 404, 413; never a 500."""
from __future__ import annotations

import json

import pytest

OK_OPS = [{"op": "add_memory", "start": "0x100000000", "size": "128M", "node": 0}]


def sc(ops=None, **kw) -> dict:
    return {"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "4G", "node": 0}],
            "ops": OK_OPS if ops is None else ops, **kw}


def err(client, path, body, status=422):
    r = client.post("/api/v1/" + path, json=body)
    assert r.status_code == status, r.text
    return r.json()


CASES = [
    # (body, expected message prefix: "field path: rule")
    ({"scenario": sc([{"op": "add_memory", "start": "0x100100000", "size": "128M"}])},
     "scenario.ops[0].start: not aligned to the 128 MiB memory block size"),
    ({"scenario": sc([{"op": "add_memory", "start": "0x100000000", "size": "100M"}])},
     "scenario.ops[0].size: "),
    ({"scenario": sc(OK_OPS * 2)}, "scenario.ops[1]"),
    ({"scenario": sc([{"op": "add_memory", "start": "0x80000000", "size": "128M"}])}, "scenario.ops[0]"),
    ({"scenario": sc([{"op": "add_memory", "start": "0x10000000000000", "size": "128M"}])},
     "scenario.ops[0].start: "),
    ({"scenario": sc(kernel="4.19")}, "scenario.kernel: unknown kernel version '4.19'"),
    ({"scenario": sc([{"op": "online", "start": "0x200000000", "size": "128M"}])}, "scenario.ops[0]"),
    ({"scenario": sc([{"op": "add_memory", "start": "0x1000zz", "size": "128M"}])}, "scenario.ops[0].add_memory.start"),
    ({"scenario": sc([{"op": "add_memory", "start": -4096, "size": "128M"}])}, "scenario.ops[0].add_memory.start"),
    ({"scenario": sc([{"op": "add_memory", "start": "0x100000000", "size": 1 << 64}])},
     "scenario.ops[0].add_memory.size"),
    ({"scenario": sc([{"op": "add_memory", "start": "0x100000000", "size": 0}])}, "scenario.ops[0].size"),
    ({"scenario": sc([{"op": "format_disk"}])}, "scenario.ops[0]"),
    ({"scenario": sc(colour="red")}, "scenario.colour: Extra inputs are not permitted"),
    ({"scenario": sc([{"op": "alloc_hugepages", "size": "2M", "count": "3"}])},
     "scenario.ops[0].alloc_hugepages.count"),
    ({"scenario": sc([{"op": "alloc_hugepages", "size": "3M", "count": 1}])}, "scenario.ops[0].size"),
    ({"scenario": sc(), "scenario_id": "0" * 24}, "body: Value error, give exactly one of"),
    ({}, "body: Value error, give exactly one of"),
    ({"scenario_id": "not-a-hash"}, "scenario_id: String should match pattern"),
    ({"scenario": sc([{"op": "add_memory", "start": "0x100000000", "size": "128M"}] * 10_001)},
     "scenario.ops: List should have at most 10000 items"),
]


@pytest.mark.parametrize("body,message", CASES, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(CASES)])
def test_bad_scenarios_are_422_with_field_and_rule(client, body, message):
    doc = err(client, "evaluate", body)
    assert doc["message"].startswith(message), doc["message"]
    assert doc["detail"] and all({"loc", "msg", "type"} == set(d) for d in doc["detail"])
    assert doc["detail"][0]["loc"][0] == "body"


def test_overlapping_boot_ranges(client):
    doc = err(client, "evaluate", {"scenario": {"boot_memory": [{"start": "0x0", "size": "4G"},
                                                                {"start": "0x80000000", "size": "1G"}]}})
    assert doc["message"].startswith("scenario.boot_memory[1]"), doc["message"]
    assert "overlap" in doc["message"]


def test_unknown_scenario_id_is_404(client):
    for path, extra in (("evaluate", {}), ("resolve", {"pfns": [1]}),
                        ("window", {"start_pfn": 0, "end_pfn": 10})):
        r = client.post("/api/v1/" + path, json={"scenario_id": "ab" * 12, **extra})
        assert r.status_code == 404 and "not found" in r.json()["message"]
    assert client.get("/api/v1/scenarios/" + "ab" * 12).status_code == 404
    assert client.get("/api/v1/scenarios/xyz").status_code == 422


def test_query_limits(client):
    doc = err(client, "resolve", {"scenario": sc(), "pfns": list(range(100_001))})
    assert doc["message"].startswith("pfns: List should have at most 100000 items")
    doc = err(client, "resolve", {"scenario": sc(), "pfns": []})
    assert doc["message"].startswith("pfns: List should have at least 1 item")
    doc = err(client, "resolve", {"scenario": sc(), "pfns": [1, 2, 1 << 40]})
    assert doc["message"].startswith("pfns[2]: pfn 0x10000000000 is beyond the physical address limit")
    doc = err(client, "window", {"scenario": sc(), "start_pfn": 0, "end_pfn": 10, "bins": 1_000_001})
    assert doc["message"].startswith("bins: Input should be less than or equal to 1000000")
    doc = err(client, "window", {"scenario": sc(), "start_pfn": 10, "end_pfn": 10})
    assert doc["message"] == "end_pfn: must be greater than start_pfn"
    doc = err(client, "window", {"scenario": sc(), "start_pfn": 0, "end_pfn": 1 << 40})
    assert doc["message"].startswith("end_pfn: pfn 0xffffffffff is beyond the physical address limit")


def test_oversized_body_is_413_before_parsing(client):
    big = json.dumps({"scenario": sc(), "pad": "x" * (5 << 20)})
    r = client.post("/api/v1/evaluate", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.json()["message"]

    def chunks():                         # no Content-Length: counted while streaming
        for _ in range(6):
            yield b" " * (1 << 20)
    r = client.post("/api/v1/evaluate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("raw", [b"{", b"[1,", b"\xff\xfe", b'{"scenario": NaN}', b"nul"])
def test_unparseable_json_is_4xx(client, raw):
    r = client.post("/api/v1/evaluate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), r.text
    assert "Traceback" not in r.text
