"""REST: the walkthroughs and the exported figures of saved scenarios."""
from __future__ import annotations

import struct

from app import walkthroughs as W


def test_list_and_get_walkthroughs(client):
    lst = client.get("/api/v1/walkthroughs").json()
    assert [w["slug"] for w in lst] == W.slugs()
    assert all(w["steps"] == len(W.load(w["slug"])["steps"]) for w in lst)
    doc = client.get("/api/v1/walkthroughs/memmap-on-memory").json()
    step = doc["steps"][1]
    assert step["claims"][0] == "backing_pfn of pfn 0x100000 == 0x100000"
    assert len(step["scenario"]["ops"]) == 2
    # the step's scenario is a valid scenario for the rest of the API
    r = client.post("/api/v1/evaluate", json={"scenario": step["scenario"]}).json()
    assert next(b for b in r["blocks"] if b["id"] == 32)["self_mapping_pfn"] == "0x100000"
    assert client.get("/api/v1/walkthroughs/nope").status_code == 404
    assert client.get("/walkthroughs/memmap-on-memory/4").status_code == 200
    assert client.get("/walkthroughs/memmap-on-memory/5").status_code == 404


def test_scenario_figures(client, default):
    sid = client.post("/api/v1/scenarios", json=default).json()["id"]
    r = client.get(f"/api/v1/scenarios/{sid}/figure.svg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert b"struct page of pfn 0x100000 lives in pfn 0x100000" in r.content
    r = client.get(f"/api/v1/scenarios/{sid}/figure.png?view=hvo&hugepage=0x108200&width=500&height=250")
    assert r.status_code == 200 and struct.unpack(">II", r.content[16:24]) == (500, 250)
    r = client.get(f"/api/v1/scenarios/{sid}/figure.png?view=hvo&block=0")
    assert r.status_code == 422 and r.json()["message"].startswith("head_pfn: no huge page")
    assert client.get(f"/api/v1/scenarios/{sid}/figure.gif").status_code == 422
    assert client.get(f"/api/v1/scenarios/{'0' * 24}/figure.svg").status_code == 404
