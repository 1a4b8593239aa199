"""The README's Python API section is a doctest: its example runs as written, against both hot-loop
implementations (VMEMSCOPE_IMPL picks the one `engine.evaluate` uses)."""
from __future__ import annotations

import doctest
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_api_section() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## Python API\n(.*?)^## ", text, re.S | re.M)
    assert m, "README.md has no '## Python API' section"
    blocks = re.findall(r"^```pycon\n(.*?)^```", m.group(1), re.S | re.M)
    assert blocks, "the Python API section has no ```pycon example"
    return "\n".join(blocks)


def test_readme_python_api_example_runs(impl, monkeypatch):
    monkeypatch.setenv("VMEMSCOPE_IMPL", impl)
    test = doctest.DocTestParser().get_doctest(python_api_section(), {}, "README.md#python-api", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    out: list[str] = []
    runner.run(test, out=out.append, clear_globs=False)
    assert runner.summarize(verbose=False).failed == 0, "".join(out)
    assert len(test.examples) >= 10
    assert test.globs["m"].implementation == impl
