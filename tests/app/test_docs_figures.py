"""Every figure `make docs` produces, rendered as SVG from the Makefile's own recipe: vector only (no
embedded raster), under 250 KB, and byte-identical when rendered again."""
from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
MAX_SVG = 250 * 1024


def docs_commands() -> list[list[str]]:
    """The `vmemscope` commands of the Makefile's docs target (figures, not screenshots)."""
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("\ndocs:", 1)[1].split("\n\n", 1)[0]
    vars_ = dict(re.findall(r"^(DOCS_\w+) := (\S+)$", text, re.M))
    out = []
    for line in recipe.splitlines()[1:]:
        line = re.sub(r"\$\((DOCS_\w+)\)", lambda m: vars_[m.group(1)], line.strip())
        argv = shlex.split(line)
        if argv[:3] == ["$(VPY)", "-m", "app.cli"] and argv[3] in ("render", "render-walkthrough"):
            out.append(argv[3:])
    return out


def as_svg_into(argv: list[str], tmp: Path) -> list[str]:
    """The command with every output redirected into tmp, as SVG."""
    argv = list(argv)
    for i, a in enumerate(argv):
        if a == "--out" and argv[0] == "render":
            argv[i + 1] = str(tmp / (Path(argv[i + 1]).stem + ".svg"))
        elif a == "--out":
            argv[i + 1] = str(tmp / "walkthroughs")
    return argv


def test_the_docs_recipe_renders_every_figure_vector_only_and_small(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cmds = docs_commands()
    assert {c[0] for c in cmds} == {"render", "render-walkthrough"} and len(cmds) >= 10
    for argv in cmds:
        assert main(as_svg_into(argv, tmp_path)) == 0, argv
    svgs = sorted(tmp_path.rglob("*.svg"))
    assert len(svgs) >= 9 + 30
    for p in svgs:
        size = p.stat().st_size
        assert size < MAX_SVG, f"{p.name}: {size} bytes"
        root = ET.parse(p).getroot()
        assert not list(root.iter(SVG + "image")), f"{p.name} embeds a raster image"
        text = p.read_text()
        assert "data:image" not in text
        fonts = set(re.findall(r"font-family: ([^;\"]*)", text))
        assert fonts == {"'Liberation Sans', Arial, sans-serif"}, (p.name, fonts)   # fonts-liberation


def test_the_same_scenario_renders_to_byte_identical_svg(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    for view in (["--view", "map"], ["--view", "hvo"], ["--view", "memmap", "--block", "32"]):
        a, b = tmp_path / "a.svg", tmp_path / "b.svg"
        assert main(["render", "docs/scenarios/dimm-1g-6.8.json" if view[1] != "hvo" else
                     "docs/scenarios/hvo-6.12.json", *view, "--out", str(a)]) == 0
        assert main(["render", "docs/scenarios/dimm-1g-6.8.json" if view[1] != "hvo" else
                     "docs/scenarios/hvo-6.12.json", *view, "--out", str(b)]) == 0
        assert a.read_bytes() == b.read_bytes(), view
