"""Figure exports are bounded (issue 17, point 8): a size cap (422 naming the field and the cap), a few
export slots (503 with Retry-After when they are all busy) and refusal of views that cannot be drawn
before any drawing — through the real app, engine and store."""
from __future__ import annotations

import struct
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

import engine
from app.export import EXPORT_SLOTS, MAX_EXPORT_PIXELS, build_view, check_size, export_slot, ExportBusy
from app.main import create_app
from app.settings import Settings
from engine.presets import DEFAULT_SCENARIO


@pytest.fixture()
def saved(tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path)), raise_server_exceptions=False) as c:
        sid = c.post("/api/v1/scenarios", json=DEFAULT_SCENARIO).json()["id"]
        yield c, f"/api/v1/scenarios/{sid}"


def test_an_oversized_export_is_a_422_naming_the_field_and_the_cap(saved):
    c, url = saved
    r = c.get(f"{url}/figure.png?width=4000&height=4000&scale=2")        # 64 Mpx
    assert r.status_code == 422
    msg = r.json()["message"]
    assert msg.startswith("scale: width x height x scale^2 = 4000 x 4000 x 2^2 = 64,000,000 pixels")
    assert f"cap of {MAX_EXPORT_PIXELS:,} pixels" in msg
    r = c.get(f"{url}/figure.png?width=2000&height=2000&scale=1")        # 4 Mpx: fine
    assert r.status_code == 200 and struct.unpack(">II", r.content[16:24]) == (2000, 2000)


def test_busy_export_slots_answer_503_with_retry_after_then_recover(saved):
    c, url = saved
    held = [export_slot() for _ in range(EXPORT_SLOTS)]
    for h in held:
        h.__enter__()
    try:
        r = c.get(f"{url}/figure.svg")
        assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
        assert "export slots are busy" in r.json()["message"]
        with pytest.raises(ExportBusy):
            with export_slot():
                pass
    finally:
        for h in held:
            h.__exit__(None, None, None)
    assert c.get(f"{url}/figure.svg").status_code == 200


@pytest.mark.parametrize("query,message", [
    ("view=hvo&block=33&hugepage=0x108201", "head_pfn: no live huge page has head pfn 0x108201"),
    ("view=hvo&start_pfn=0x0&end_pfn=0x1000", "head_pfn: no huge page with its head in pfns 0x0-0xfff"),
    ("view=map&start_pfn=0x0&end_pfn=0x10000000000000", "end_pfn: 0x10000000000000 is beyond the physical "
                                                        "address limit"),
    ("view=map&start_pfn=0x2000&end_pfn=0x1000", "end_pfn: must be greater than start_pfn"),
    ("view=memmap&block=77777", "block: memory77777 does not exist"),
])
def test_views_that_cannot_be_drawn_are_422(saved, query, message):
    c, url = saved
    r = c.get(f"{url}/figure.svg?{query}")
    assert r.status_code == 422 and r.json()["message"].startswith(message), r.json()


def test_size_caps_name_each_field():
    for args, field in (((5000, 300, 1), "width"), ((300, 5000, 1), "height"), ((300, 300, 8), "scale"),
                        ((300, 300, 0), "scale")):
        with pytest.raises(engine.ScenarioError) as e:
            check_size(*args)
        assert e.value.loc == (field,)


def test_an_empty_range_of_a_machine_full_of_huge_pages_is_refused_by_bisection():
    """The refusal looks at the sorted huge page heads, not a listing: 20,000 pages, the range between two."""
    m = engine.evaluate({"boot_memory": [{"start": "0x0", "size": "64G"}],
                         "ops": [{"op": "alloc_hugepages", "size": "2M", "count": 20_000}]})
    heads = m.hugepage_heads(0, m.max_pfn, 3)
    assert heads == sorted(heads) and len(heads) == 3
    gap = (heads[0] + 1, heads[1])
    assert m.hugepage_heads(*gap, 5) == []
    with pytest.raises(engine.ScenarioError) as e:
        build_view(m, "hvo", pfn_range=gap)
    assert e.value.loc == ("head_pfn",)
    fig = build_view(m, "hvo", pfn_range=(heads[1], heads[1] + 1))
    assert fig["layout"]["meta"]["frames"]
    assert m.hugepage(heads[1])["head_pfn"] == hex(heads[1]) and m.hugepage(heads[1] + 1) is None


def test_the_api_exports_pdf(saved):
    c, url = saved
    r = c.get(f"{url}/figure.pdf?view=hvo&hugepage=0x108200")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content[:5] == b"%PDF-"
