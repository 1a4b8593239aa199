"""POST /api/v1/import through the real app: a collector snapshot, `lsmem --json --all` (plain and
--output-all), and malformed inputs answering 422 with the field path."""
from __future__ import annotations

import copy
import random

import pytest

from app import collect
from app.schemas_import import ImportResponse

from sysroot_util import sample

URL = "/api/v1/import"


@pytest.fixture()
def snap612(make_tree) -> dict:
    return collect.collect(str(make_tree("gt-6.12-C")))[1]


def test_snapshot_import_gives_the_collectors_scenario_and_it_evaluates(client, make_tree):
    scenario, snap612 = collect.collect(str(make_tree("gt-6.12-C")))
    r = client.post(URL, json={"snapshot": snap612})
    assert r.status_code == 200, r.text
    body = r.json()
    ImportResponse.model_validate(body)                      # the documented response model is honest
    assert set(body) == {"scenario", "observed", "inferred", "notes"}
    assert body["scenario"] == scenario
    assert body["observed"] == snap612["observed"] and body["inferred"] == snap612["inferred"]
    ev = client.post("/api/v1/evaluate", json={"scenario": body["scenario"]})
    assert ev.status_code == 200, ev.text
    blocks = {b["name"]: b for b in ev.json()["blocks"]}
    assert blocks["memory40"]["self_mapping_pfn"] == "0x140000"
    assert [blocks[f"memory{i}"]["node"] for i in (0, 7, 32, 40, 47)] == [0, 0, 1, 1, 1]


def test_lsmem_all_import(client):
    r = client.post(URL, json={"lsmem": sample("lsmem-all-host.json")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scenario"]["boot_memory"] == [{"start": "0x0", "size": "3G", "node": 0},
                                               {"start": "0x100000000", "size": "21G", "node": 0}]
    assert any("not recorded" in i for i in body["inferred"])
    assert any("evaluating as 6.8" in n for n in body["notes"])


def test_lsmem_output_all_import_has_nodes(client):
    for name in ("lsmem-output-all-host.json", "lsmem-output-all-gt-6.12-C.json"):
        r = client.post(URL, json={"lsmem": sample(name)})
        assert r.status_code == 200, (name, r.text)
    ops = r.json()["scenario"]["ops"]
    assert {op["node"] for op in ops if op["op"] == "add_memory"} == {1}


def test_lsmem_without_all_merges_rows_into_blocks(client):
    row = {"state": "online", "removable": True}
    doc = {"memory": [
        {**row, "range": "0x0000000000000000-0x00000000bfffffff", "size": "3G", "block": "0-23"},
        {**row, "range": "0x0000000100000000-0x000000063fffffff", "size": "21G", "block": "32-199"},
        {**row, "range": "0x0000000800000000-0x0000000807ffffff", "size": "128M", "block": "256",
         "state": "offline", "removable": None}]}
    r = client.post(URL, json={"lsmem": doc})
    assert r.status_code == 200, r.text
    assert r.json()["scenario"]["ops"] == [{"op": "add_memory", "start": "0x800000000", "size": "128M", "node": 0,
                                            "memmap_on_memory": True}]


def _err(r) -> tuple[list, str]:
    assert r.status_code == 422, r.text
    return r.json()["detail"][0]["loc"], r.json()["message"]


def test_neither_or_both_sources(client, snap612):
    assert client.post(URL, json={}).status_code == 422
    loc, msg = _err(client.post(URL, json={"snapshot": snap612, "lsmem": sample("lsmem-all-host.json")}))
    assert "exactly one of `snapshot` and `lsmem`" in msg


def test_snapshot_with_a_bad_state_names_the_field(client, snap612):
    bad = copy.deepcopy(snap612)
    bad["memory_blocks"][3]["state"] = "banana"
    loc, msg = _err(client.post(URL, json={"snapshot": bad}))
    assert loc == ["body", "snapshot", "memory_blocks", 3, "state"]
    assert msg.startswith("snapshot.memory_blocks[3].state: /sys/devices/system/memory/memory3/state: 'banana'")


def test_snapshot_with_garbage_block_size(client, snap612):
    loc, msg = _err(client.post(URL, json={"snapshot": {**snap612, "block_size_bytes": "zz"}}))
    assert loc == ["body", "snapshot", "block_size_bytes"] and "not a hex number" in msg


@pytest.mark.parametrize("change,where", [
    ({"format": "something-else"}, ["body", "snapshot", "format"]),
    ({"surprise": 1}, ["body", "snapshot", "surprise"]),
    ({"page_size": "4096"}, ["body", "snapshot", "page_size"]),             # strict: an int
    ({"memory_blocks": []}, ["body", "snapshot", "memory_blocks"]),
    ({"hugetlb_pools": [{"node": 64, "size_kb": 2048, "nr_hugepages": 1}]},
     ["body", "snapshot", "hugetlb_pools", 0, "node"]),
])
def test_snapshot_schema_errors(client, snap612, change, where):
    loc, msg = _err(client.post(URL, json={"snapshot": {**snap612, **change}}))
    assert loc[:len(where)] == where, loc


def test_snapshot_the_engine_refuses_is_422_at_the_scenario_field(client, snap612):
    loc, msg = _err(client.post(URL, json={"snapshot": {**snap612, "page_size": 8192}}))
    assert loc[:3] == ["body", "scenario", "machine"] and "4K pages only" in msg
    ppc = {**snap612, "uname": {"release": "6.12", "machine": "ppc64le"}}
    loc, msg = _err(client.post(URL, json={"snapshot": ppc}))
    assert loc == ["body", "snapshot", "uname", "machine"] and "not modelled" in msg


@pytest.mark.parametrize("row,field,words", [
    ({"range": "0x0-0x7ffffff", "block": "x"}, "block", "not N or N-M"),
    ({"range": "banana", "block": "0"}, "range", "not like 0x0-0x7ffffff"),
    ({"range": "0x8000000-0xfffffff", "block": "0"}, "range", "does not start at memory0"),
    ({"range": "0x0-0x7ffffff", "block": "0", "state": "sleepy"}, "state", "'sleepy'"),
    ({"range": "0x0-0x7ffffff", "block": "0", "state": "online", "node": "zero"}, "node", "not a number"),
])
def test_malformed_lsmem_names_the_row_and_field(client, row, field, words):
    loc, msg = _err(client.post(URL, json={"lsmem": {"memory": [{"state": "online", **row}]}}))
    assert loc == ["body", "lsmem", "memory", 0, field] and words in msg, msg


def test_lsmem_shape_errors(client):
    row = {"range": "0x0-0x7ffffff", "block": "0", "colour": "red"}
    loc, _ = _err(client.post(URL, json={"lsmem": {"memory": [row]}}))
    assert loc == ["body", "lsmem", "memory", 0, "colour"]
    loc, _ = _err(client.post(URL, json={"lsmem": {"memory": []}}))
    assert loc == ["body", "lsmem", "memory"]
    loc, msg = _err(client.post(URL, json={"lsmem": {"memory": [
        {"range": "0x0-0x7ffffff", "block": "0", "state": "online"},
        {"range": "0x10000000-0x1fffffff", "block": "1", "state": "online"}]}}))
    assert "different block sizes" in msg


def test_openapi_documents_the_endpoint(client):
    op = client.get("/openapi.json").json()["paths"][URL]["post"]
    assert {"200", "400", "413", "422"} <= set(op["responses"])
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/ImportRequest")


def test_mutated_inputs_answer_200_or_422_never_500(client, snap612):
    """Seeded mutations of a real snapshot and an lsmem document: every answer is 200 with a body that
    matches ImportResponse (its scenario evaluates) or a 422 naming a field."""
    rnd = random.Random(7)
    vals = [None, 0, 1, 63, 64, -1, 1 << 40, "0", "Y", "N", "force", "", "zz", "0x0", "online", "offline",
            "going-offline", "Movable", "aarch64", "7.2", "5.4", 4096, 65536, True, "80000000", "ffffffffffffffff"]
    docs = []
    for _ in range(120):
        s = copy.deepcopy(snap612)
        for _ in range(rnd.randint(1, 3)):
            field = rnd.choice(["id", "state", "valid_zones", "node", "owner_private_run", "page_size",
                                "block_size_bytes", "memmap_on_memory", "hugetlb_optimize_vmemmap", "pool"])
            if field == "pool":
                rnd.choice(s["hugetlb_pools"])[rnd.choice(["node", "size_kb", "nr_hugepages"])] = rnd.choice(vals)
            elif field in ("page_size", "block_size_bytes", "memmap_on_memory", "hugetlb_optimize_vmemmap"):
                s[field] = rnd.choice(vals)
            else:
                rnd.choice(s["memory_blocks"])[field] = rnd.choice(vals)
        docs.append({"snapshot": s})
    for _ in range(60):
        d = sample("lsmem-output-all-gt-6.12-C.json")
        rnd.choice(d["memory"])[rnd.choice(["range", "block", "node", "state", "zones"])] = rnd.choice(
            vals + ["0-3", "5-2", "0x0-0x7ffffff"])
        docs.append({"lsmem": d})
    seen = set()
    for doc in docs:
        r = client.post(URL, json=doc)
        seen.add(r.status_code)
        assert r.status_code in (200, 422), (r.status_code, r.text)
        if r.status_code == 200:
            ImportResponse.model_validate(r.json())
        else:
            assert r.json()["detail"][0]["loc"][0] == "body" and r.json()["message"]
    assert seen == {200, 422}
