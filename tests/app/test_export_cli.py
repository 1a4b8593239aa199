"""Static export (kaleido + the installed Chromium) and the `vmemscope` command line."""
from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET

import pytest

import engine
from app import walkthroughs as W
from app.export import build_view
from app.cli import main
from engine.presets import DEFAULT_SCENARIO

SVG = "{http://www.w3.org/2000/svg}"
MARK = "struct page of pfn 0x100000 lives in pfn 0x100000"


@pytest.fixture()
def scenario_file(tmp_path):
    p = tmp_path / "scenario.json"
    p.write_text(json.dumps(DEFAULT_SCENARIO))
    return str(p)


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def svg_texts(path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def svg_lines(path) -> list[str]:
    """Each line of text (a multi-line label is one <text> with a <tspan class="line"> per line)."""
    out = []
    for t in ET.parse(path).getroot().iter(SVG + "text"):
        spans = [s for s in t.iter(SVG + "tspan") if "line" in (s.get("class") or "")]
        out += ["".join(s.itertext()) for s in spans] if spans else ["".join(t.itertext())]
    return out


def test_render_map_svg_has_the_mark_and_the_block_edge(scenario_file, tmp_path, capsys):
    out = tmp_path / "map.svg"
    assert main(["render", scenario_file, "--view", "map", "--range", "0x100000-0x110000", "--out", str(out)]) == 0
    texts = svg_texts(out)
    assert MARK in texts
    assert "memory32" in texts and "memory33" in texts and "0x108000000" in texts
    root = ET.parse(out).getroot()
    shapes = [g for g in root.iter(SVG + "g") if "shapelayer" in (g.get("class") or "")]
    paths = [p for g in shapes for p in g.iter(SVG + "path")]
    m = engine.evaluate(DEFAULT_SCENARIO)
    fig = build_view(m, "map", pfn_range=(0x100000, 0x110000))
    assert len(paths) == len(fig["layout"]["shapes"])      # every band and the memory32 | memory33 edge
    assert [s["name"] for s in fig["layout"]["shapes"]].count("block-edge:0x108000") == 1
    assert not list(root.iter(SVG + "image"))              # vector only
    assert "wrote" in capsys.readouterr().out


def test_render_png_and_pdf_have_the_requested_size(scenario_file, tmp_path):
    png = tmp_path / "hvo.png"
    assert main(["render", scenario_file, "--view", "hvo", "--block", "33", "--format", "png", "--out", str(png),
                 "--width", "640", "--height", "300", "--scale", "2"]) == 0
    assert png_size(png) == (1280, 600)
    pdf = tmp_path / "memmap.pdf"
    assert main(["render", scenario_file, "--view", "memmap", "--block", "32", "--out", str(pdf)]) == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_hvo_svg_names_the_fan_in(scenario_file, tmp_path):
    out = tmp_path / "hvo.svg"
    assert main(["render", scenario_file, "--view", "hvo", "--hugepage", "0x108200", "--out", str(out)]) == 0
    texts = svg_lines(out)
    assert "HVO of the 2 MiB huge page at pfn 0x108200" in texts
    assert "new page: copy of the head" in texts                    # 6.8: the head is copied (v6.2+)
    assert texts.count("freed") == 8 and "mapped by 8 vmemmap pages" in texts


@pytest.mark.parametrize("slug", W.slugs())
def test_render_walkthrough_every_step(slug, tmp_path):
    assert main(["render-walkthrough", slug, "--out", str(tmp_path)]) == 0
    n = len(W.load(slug)["steps"])
    for i in range(1, n + 1):
        ET.parse(tmp_path / f"step-{i:02d}.svg")          # parses
    index = (tmp_path / "index.md").read_text()
    assert index.count("## Step ") == n and f"Step {n} of {n}" in index
    assert "DOES NOT HOLD" not in index and f"{n}/{n}" in index


@pytest.mark.parametrize("argv,message", [
    (["render", "/nonexistent.json", "--out", "x.svg"], "No such file"),
    (["render", "{scenario}", "--range", "0x10-0x5", "--out", "{tmp}/x.svg"], "--range '0x10-0x5': END must be above START"),
    (["render", "{scenario}", "--view", "memmap", "--block", "7777", "--out", "{tmp}/x.svg"], "--block: memory7777 does not exist"),
    (["render", "{scenario}", "--out", "{tmp}/x.gif"], "--format: give one of svg, png, pdf"),
    (["render-walkthrough", "no-such-thing", "--out", "{tmp}"], "no walkthrough 'no-such-thing'"),
    (["resolve", "0xzz"], "pfn: "),
    (["resolve", "0x10000000000000"], "beyond the physical address limit"),
    (["evaluate", "{bad}"], "scenario: ops[0].start: not aligned to the 128 MiB memory block size"),
])
def test_errors_are_one_line_and_exit_2(argv, message, scenario_file, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ops": [{"op": "add_memory", "start": "0x100100000", "size": "128M"}]}))
    argv = [a.format(scenario=scenario_file, tmp=tmp_path, bad=bad) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err


def test_evaluate_and_resolve_print_hex(scenario_file, capsys):
    assert main(["evaluate", scenario_file]) == 0
    out = capsys.readouterr().out
    assert "memory32" in out and "0x100000" in out and "refused" in out
    assert main(["evaluate", scenario_file, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {b["self_mapping_pfn"] for b in doc["blocks"]} >= {"0x100000"}
    assert main(["resolve", "0x100200", "1048584", "--scenario", scenario_file]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["pfn 0x100200 -> struct page 0xffffea0004008000 -> pfn 0x100008 (pmd, hugetlb_head)",
                     "pfn 0x100008 -> struct page 0xffffea0004000200 -> pfn 0x100000 (pmd, memmap_self)"]


def test_every_subcommand_has_help(capsys):
    for cmd in ("serve", "evaluate", "resolve", "render", "render-walkthrough", "screenshot"):
        with pytest.raises(SystemExit) as e:
            main([cmd, "--help"])
        assert e.value.code == 0
        assert "usage: vmemscope " + cmd in capsys.readouterr().out


def test_svg_title_is_text_not_markup(scenario_file, tmp_path):
    out = tmp_path / "evil.svg"
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    assert main(["render", scenario_file, "--title", evil, "--out", str(out)]) == 0
    root = ET.parse(out).getroot()
    assert not [e for e in root.iter() if e.tag.split("}")[-1] in ("script", "img", "foreignObject")]
    assert evil in svg_texts(out)


def test_png_defaults_to_2x_of_the_figures_own_size(scenario_file, tmp_path):
    png = tmp_path / "hvo.png"
    assert main(["render", scenario_file, "--view", "hvo", "--hugepage", "0x108200", "--out", str(png)]) == 0
    m = engine.evaluate(DEFAULT_SCENARIO)
    lay = build_view(m, "hvo", head_pfn=0x108200)["layout"]
    assert png_size(png) == (2 * lay["width"], 2 * lay["height"])
    assert main(["render", scenario_file, "--view", "hvo", "--hugepage", "0x108200", "--out", str(png),
                 "--scale", "1"]) == 0
    assert png_size(png) == (lay["width"], lay["height"])


def test_render_refuses_an_oversized_export_naming_the_cap(scenario_file, tmp_path, capsys):
    assert main(["render", scenario_file, "--out", str(tmp_path / "x.png"), "--width", "4000", "--height",
                 "4000", "--scale", "4"]) == 2
    assert "--scale: width x height x scale^2" in capsys.readouterr().err


def test_render_walkthrough_all_writes_relative_links(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "docs" / "walkthroughs"                       # absolute on the command line
    assert main(["render-walkthrough", "--all", "--out", str(out)]) == 0
    top = (out / "index.md").read_text()
    assert str(tmp_path) not in top and "--out docs/walkthroughs`" in top
    for slug in W.slugs():
        assert f"]({slug}/index.md)" in top
        index = (out / slug / "index.md").read_text()
        assert str(tmp_path) not in index and f"--out docs/walkthroughs/{slug}`" in index
        assert "](step-01.svg)" in index
    assert f"wrote {sum(len(W.load(s)['steps']) for s in W.slugs())} figures" in capsys.readouterr().out


def test_screenshot_needs_no_httpx(tmp_path, scenario_file):
    """A README-way install has no test extras: the screenshot command must work without httpx."""
    import subprocess
    import sys
    out = tmp_path / "shot.png"
    code = ("import sys; sys.modules['httpx'] = None\n"           # any `import httpx` now fails
            "from app.cli import main\n"
            f"sys.exit(main(['screenshot', '--scenario', {scenario_file!r}, '--out', {str(out)!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert png_size(out) == (1280, 720)
