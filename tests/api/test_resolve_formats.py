"""POST /resolve in its three shapes, over real HTTP through the app: `"format": "columns"` and
`Accept: application/x-ndjson` say pfn by pfn exactly what the default pages format says."""
from __future__ import annotations

import json
import random

import pytest

from app.schemas import RESOLVE_EXAMPLES

README_SCENARIO = {"kernel": "6.8", "ops": [
    {"op": "add_memory", "start": "0x100000000", "size": "128M", "memmap_on_memory": True},
    {"op": "online", "start": "0x100000000", "size": "128M", "zone": "movable"}]}


def pfns_of_every_kind(client, scenario: dict) -> list[int]:
    """Random pfns over the machine and past its end, plus every huge page's head and a tail."""
    ev = client.post("/api/v1/evaluate", json={"scenario": scenario}).json()
    top = int(ev["pfn_ranges"]["all"][1], 16)
    rnd = random.Random(5)
    heads = [int(h["head_pfn"], 16) for h in ev["hugepages"]]
    return [rnd.randrange(0, top + 0x10000) for _ in range(3000)] + heads + [h + 9 for h in heads]


def pages(client, body: dict) -> list[dict]:
    r = client.post("/api/v1/resolve", json=body)
    assert r.status_code == 200, r.text
    return r.json()["pages"]


def page_from_columns(doc: dict, k: int) -> dict:
    """Row k of a columns answer, written out as the pages format writes a page."""
    c, lg, d, hp = doc["columns"], doc["legend"], doc["derived"], doc["hugepages"]
    pfn = int(c["pfn"][k], 16)
    memstart = int(d["memstart_pfn"], 16)
    h = c["hugepage"][k]
    return {"pfn": c["pfn"][k], "phys_addr": hex(pfn << d["page_shift"]), "node": c["node"][k],
            "zone": lg["zone"][c["zone"][k]], "block": c["block"][k], "section": pfn >> d["section_shift"],
            "state": lg["state"][c["state"][k]],
            "struct_page_vaddr": hex(int(d["vmemmap_base"], 16) + (pfn - memstart) * d["struct_page_size"])
            if pfn >= memstart else None,
            "backing_pfn": c["backing_pfn"][k], "mapping": lg["mapping"][c["mapping"][k]],
            "role": lg["role"][c["role"][k]], "self_hosted": bool(c["self_hosted"][k]),
            "maps_to_itself": bool(c["maps_to_itself"][k]),
            "hugepage": None if h is None else {f: hp[f][h] for f in ("head_pfn", "size", "hvo", "reason")},
            "kpageflags": hex(c["kpageflags"][k]),
            "kpageflags_names": [n for n, bit in lg["kpageflags"].items() if c["kpageflags"][k] & bit]}


@pytest.mark.parametrize("which", ["default", "readme"])
def test_columns_say_what_pages_say_pfn_by_pfn(client, default, which):
    scenario = default if which == "default" else README_SCENARIO
    pfns = pfns_of_every_kind(client, scenario)
    expected = pages(client, {"scenario": scenario, "pfns": pfns})
    r = client.post("/api/v1/resolve", json={"scenario": scenario, "pfns": pfns, "format": "columns"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["count"] == len(pfns) and all(len(v) == len(pfns) for v in doc["columns"].values())
    assert len(set(doc["hugepages"]["head_pfn"])) == len(doc["hugepages"]["head_pfn"])
    if which == "default":
        assert doc["hugepages"]["head_pfn"], "the default scenario's huge pages are among the pfns"
    for k, page in enumerate(expected):
        assert page_from_columns(doc, k) == page, k


def test_ndjson_streams_one_page_per_line(client, default):
    pfns = pfns_of_every_kind(client, default)
    expected = pages(client, {"scenario": default, "pfns": pfns})
    with client.stream("POST", "/api/v1/resolve", json={"scenario": default, "pfns": pfns},
                       headers={"Accept": "application/x-ndjson"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = list(r.iter_lines())
    assert [json.loads(line) for line in lines if line] == expected


def test_ndjson_refuses_bad_pfns_before_streaming(client, default):
    r = client.post("/api/v1/resolve", json={"scenario": default, "pfns": ["0x100000", "0xffffffffffffff"]},
                    headers={"Accept": "application/x-ndjson"})
    assert r.status_code == 422
    assert r.json()["message"].startswith("pfns[1]: pfn 0xffffffffffffff is beyond the physical address limit")


def test_openapi_examples_are_the_live_answers(client):
    body = {"scenario": README_SCENARIO, "pfns": ["0x100000", "0x100200"]}
    assert client.post("/api/v1/resolve", json=body).json() == RESOLVE_EXAMPLES["pages"]
    assert client.post("/api/v1/resolve", json={**body, "format": "columns"}).json() == RESOLVE_EXAMPLES["columns"]
    r = client.post("/api/v1/resolve", json=body, headers={"Accept": "application/x-ndjson"})
    assert r.text == RESOLVE_EXAMPLES["ndjson"]
    doc = client.get("/openapi.json").json()["paths"]["/api/v1/resolve"]["post"]["responses"]["200"]["content"]
    # (FastAPI leaves null-valued keys out of the published examples)
    assert doc["application/json"]["examples"]["columns"]["value"] == \
        {k: v for k, v in RESOLVE_EXAMPLES["columns"].items() if v is not None}
    assert "application/x-ndjson" in doc
