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
    edges = [s for s in lay["shapes"] if s["name"].startswith("block-edge")]
    assert [round(s["x0"] + 0.5) for s in edges] == [0x108000]                     # one block edge
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


def test_map_bands_are_vector_shapes_that_match_the_window():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = map_figure(m, 0x100000, 0x110000, 512, interactive=False)
    assert not any(d["type"] == "heatmap" for d in f["data"])                      # no raster in an export
    w = m.window(0x100000, 0x110000, 512)
    edges = [0x100000 + i * 0x10000 // 512 for i in range(513)]
    per_bin = []
    for i in range(512):                                                             # the band covering each bin
        mid = (edges[i] + edges[i + 1]) / 2
        band = [s for s in f["layout"]["shapes"] if s["name"].startswith("band:") and s["x0"] < mid < s["x1"]]
        assert len(band) == 1
        per_bin.append(band[0]["name"][5:])
    roles = [r for r, _ in engine.ROLES]
    assert per_bin == [roles[c] for c in w["dominant"]]
    assert per_bin[0] == "memmap_self"                                               # TV-1: 0x100000-0x1001ff
    labels = [a["text"] for a in f["layout"]["annotations"] if a["name"].startswith("band-label:")]
    assert "usable" in labels                                                        # words, not colour alone


def test_an_exported_map_has_a_title_by_default():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = map_figure(m, 0x100000, 0x110000, 64, interactive=False, subtitle="default: Linux 6.8, x86_64")
    assert f["layout"]["title"]["text"] == "Physical memory map, pfns 0x100000-0x10ffff"
    assert f["layout"]["title"]["subtitle"]["text"] == "default: Linux 6.8, x86_64"


def test_many_fixed_points_get_numbered_markers_and_a_key_not_overlapping_callouts():
    m = engine.evaluate({"kernel": "6.8", "boot_memory": [{"start": "0x0", "size": "4G"}],
                         "ops": [{"op": "add_memory", "start": "0x100000000", "size": "1G", "memmap_on_memory": True},
                                 {"op": "online", "start": "0x100000000", "size": "1G", "zone": "movable"}]})
    f = map_figure(m, 0x100000, 0x140000, 256, interactive=False)
    starts = [0x100000 + k * 0x8000 for k in range(8)]                               # TV-10: one per block
    assert f["layout"]["meta"]["self_mapping_pfns"] == [hex(p) for p in starts]
    notes = f["layout"]["annotations"]
    markers = [a for a in notes if a["name"].startswith("self-mapping-marker:")]
    assert [a["text"] for a in markers] == [str(k) for k in range(1, 9)]
    key = [a["text"] for a in notes if a["name"] == "self-mapping"]
    assert key == [f"{k + 1}: struct page of pfn {p:#x} lives in pfn {p:#x}" for k, p in enumerate(starts)]
    cells = {(a["x"], a["yshift"]) for a in notes if a["name"] == "self-mapping"}
    assert len(cells) == 8                                                           # each key line its own place


def test_two_far_apart_fixed_points_are_called_out_inline():
    m = engine.evaluate(DEFAULT_SCENARIO)
    f = map_figure(m, 0x100000, 0x110000, 64)
    inline = [a for a in f["layout"]["annotations"] if a["name"] == "self-mapping"]
    assert [a["text"] for a in inline] == ["struct page of pfn 0x100000 lives in pfn 0x100000"]


def test_an_exported_map_draws_each_huge_page_head_at_least_min_px_wide_with_an_outline():
    """Like the dashboard (static/js/map.js emphasis): a 1-pfn head beside 511 tails never vanishes."""
    from app.map_figure import MIN_PX, PLOT_PX
    m = engine.evaluate(DEFAULT_SCENARIO)
    start, end = 0x100000, 0x110000
    heads = [int(h["head_pfn"], 16) for h in m.hugepages() if start <= int(h["head_pfn"], 16) < end]
    assert heads                                                                     # the default scenario has some
    f = map_figure(m, start, end, 512, interactive=False)
    marks = [s for s in f["layout"]["shapes"] if s["name"] == "emphasis:hugetlb_head"]
    assert len(marks) == len(heads)
    for s, head in zip(sorted(marks, key=lambda s: s["x0"]), sorted(heads)):
        assert s["x0"] <= head - 0.5 and s["x1"] >= head + 0.5 - 1                  # covers the head's bin
        assert (s["x1"] - s["x0"]) / (end - start) * PLOT_PX >= MIN_PX - 0.01
        assert s["line"]["width"] > 0 and s["layer"] == "above"
    assert not [s for s in map_figure(m, start, end, 512)["layout"]["shapes"] if s["name"].startswith("emphasis")]
