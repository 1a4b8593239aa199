"""The figure builder shared by the dashboard and static export (app/figures.py)."""
from __future__ import annotations

import engine
from app.figures import PALETTE, map_figure
from engine.presets import DEFAULT_SCENARIO

TV9 = {"machine": {"memory_block_size": "2G"}, "boot_memory": [{"start": "0x0", "size": "4G"}],
       "ops": [{"op": "add_memory", "start": "0x1000000000", "size": "2G"},
               {"op": "online", "start": "0x1000000000", "size": "2G"}]}


def test_map_marks_the_self_mapping_page_and_labels_blocks():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = map_figure(m, 0x100000, 0x110000, 512)
    lay = f["layout"]
    assert lay["meta"]["self_mapping_pfns"] == ["0x100000"]                       # TV-1
    texts = [a["text"] for a in lay["annotations"]]
    assert "struct page of pfn 0x100000 lives in pfn 0x100000" in texts
    assert "memory32" in texts and "memory33" in texts
    assert [round(s["x0"] + 0.5) for s in lay["shapes"]] == [0x108000]             # one block edge
    heat = f["data"][0]
    w = m.window(0x100000, 0x110000, 512)
    assert heat["z"][0] == list(w["dominant"])
    legend = [d["name"] for d in f["data"][1:]]
    assert legend == [r for r in PALETTE if r in w["counts"]]
    assert lay["xaxis"]["ticktext"][0] == "0x100000000"


def test_map_single_pages_have_full_hover():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = map_figure(m, 0x100000, 0x100010, 1000)
    assert f["layout"]["meta"]["bins"] == 16
    first = f["data"][0]["text"][0][0]
    assert "pfn 0x100000" in first and "struct page 0xffffea0004000000 -&gt; pfn 0x100000 (pmd)" in first  # escaped for Plotly
    assert "maps to itself" in first


def test_sections_inside_2g_blocks_are_dotted_lines():
    m = engine.evaluate(TV9)
    f = map_figure(m, 0x1000000, 0x1080000, 256)                                   # TV-9: sections 512-527
    dotted = [round(s["x0"] + 0.5) for s in f["layout"]["shapes"] if s["line"].get("dash") == "dot"]
    assert dotted == [0x1000000 + k * 0x8000 for k in range(1, 16)]
    assert f["layout"]["meta"]["self_mapping_pfns"] == ["0x1000000"]


def test_titles_are_escaped():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = map_figure(m, 0x100000, 0x100100, 16, title="<script>alert(1)</script>")
    assert "<script>" not in f["layout"]["title"]["text"]
    assert "&lt;script&gt;" in f["layout"]["title"]["text"]
